"""Test clients that act like a browser would: guest tokens over REST, Socket.IO with acks."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import httpx
import socketio


def error_of(r: httpx.Response) -> dict[str, Any]:
    """The error of a REST response, checked to have the one error shape (docs/api.md)."""
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "request_id"}, body
    assert body["error"]["request_id"] == r.headers["x-request-id"]
    error: dict[str, Any] = body["error"]
    return error


class Api:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.user_id: str | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as http:
            headers = {**self._headers(), **kwargs.pop("headers", {})}
            return await http.request(method, path, headers=headers, **kwargs)

    @classmethod
    async def guest(cls, base_url: str, name: str = "Learner") -> Api:
        api = cls(base_url)
        r = await api.request("POST", "/api/auth/guest", json={"display_name": name})
        assert r.status_code == 201, r.text
        api.token = r.json()["token"]
        api.user_id = r.json()["user_id"]
        return api

    async def create_room(self, companion_id: str = "ada-math") -> dict[str, Any]:
        r = await self.request("POST", "/api/rooms", json={"companion_id": companion_id})
        assert r.status_code == 201, r.text
        room: dict[str, Any] = r.json()
        return room


class SocketClient:
    """A Socket.IO client whose incoming events queue up per name, to be awaited in order."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        transports: list[str] | None = None,
        http_session: Any = None,
        reconnection: bool = False,
    ) -> None:
        self.url = url
        self.token = token
        self.transports = transports or ["websocket"]
        kwargs: dict[str, Any] = {
            "reconnection": reconnection,
            "reconnection_delay": 0.2,
            "reconnection_delay_max": 1,
        }
        if http_session is not None:
            kwargs["http_session"] = http_session
        self.sio = socketio.AsyncClient(**kwargs)
        self.events: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.sio.on("*", self._record)
        self.sio.on("connect", lambda: self.events["connect"].put_nowait(True))
        self.sio.on("disconnect", lambda *a: self.events["disconnect"].put_nowait(a))
        self.sio.on(
            "connect_error", lambda data=None: self.events["connect_error"].put_nowait(data)
        )

    async def _record(self, event: str, data: Any = None) -> None:
        await self.events[event].put(data)

    async def connect(self, wait_timeout: float = 10) -> SocketClient:
        await self.sio.connect(
            self.url,
            auth={"token": self.token},
            transports=self.transports,
            wait_timeout=wait_timeout,
        )
        return self

    @property
    def sid(self) -> str:
        sid: str | None = self.sio.get_sid()
        assert sid is not None
        return sid

    async def call(self, event: str, data: Any = None, timeout: float = 10) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call(event, data, timeout=timeout)
        return ack

    async def next(self, event: str, timeout: float = 10) -> Any:
        return await asyncio.wait_for(self.events[event].get(), timeout)

    def pending(self, event: str) -> int:
        return self.events[event].qsize()

    async def close(self) -> None:
        await self.sio.disconnect()
