"""A small async Kubernetes client for the objects the operator owns.

kopf brings its own API client for watching custom resources but offers none for other objects;
this one reuses kopf's login (`ConnectionInfo`) so both talk to the same server the same way.
"""

import json
import os
import ssl
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx
import kopf

from holo_operator.manifests import MANAGER

SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"

# kind -> (API prefix, plural); only what the operator manages.
_RESOURCES = {
    "ConfigMap": ("/api/v1", "configmaps"),
    "Secret": ("/api/v1", "secrets"),
    "Service": ("/api/v1", "services"),
    "Deployment": ("/apis/apps/v1", "deployments"),
    "DaemonSet": ("/apis/apps/v1", "daemonsets"),
}


class _StaticToken(httpx.Auth):
    def __init__(self, header: str) -> None:
        self.header = header

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header
        yield request


class _ServiceAccountToken(httpx.Auth):
    """The kubelet refreshes projected tokens (about hourly): read the file on every request."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with open(SERVICE_ACCOUNT_TOKEN, encoding="utf-8") as f:
            request.headers["Authorization"] = f"Bearer {f.read().strip()}"
        yield request


class KubeError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class ConflictError(KubeError):
    """409: the object changed since it was read (or already exists)."""


def _path(kind: str, namespace: str, name: str | None = None) -> str:
    prefix, plural = _RESOURCES[kind]
    path = f"{prefix}/namespaces/{namespace}/{plural}"
    return f"{path}/{name}" if name else path


@dataclass
class KubeClient:
    http: httpx.AsyncClient

    @classmethod
    def from_connection(cls, info: kopf.ConnectionInfo) -> "KubeClient":
        auth: httpx.Auth | None = None
        if os.path.exists(SERVICE_ACCOUNT_TOKEN):
            auth = _ServiceAccountToken()
        elif info.token:
            auth = _StaticToken(f"{info.scheme or 'Bearer'} {info.token}")
        verify: ssl.SSLContext | bool = True
        if info.insecure:
            verify = False
        elif info.ca_path or info.ca_data:
            cadata = info.ca_data.decode() if isinstance(info.ca_data, bytes) else info.ca_data
            verify = ssl.create_default_context(
                cafile=str(info.ca_path) if info.ca_path else None, cadata=cadata
            )
        if isinstance(verify, ssl.SSLContext) and info.certificate_path and info.private_key_path:
            verify.load_cert_chain(str(info.certificate_path), str(info.private_key_path))
        http = httpx.AsyncClient(
            base_url=info.server, auth=auth, verify=verify, timeout=httpx.Timeout(10.0)
        )
        return cls(http=http)

    async def close(self) -> None:
        await self.http.aclose()

    async def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply: the same manifest twice is one change, and we own our fields."""
        meta = manifest["metadata"]
        response = await self.http.patch(
            _path(manifest["kind"], meta["namespace"], meta["name"]),
            params={"fieldManager": MANAGER, "force": "true"},
            headers={"Content-Type": "application/apply-patch+yaml"},
            content=json.dumps(manifest),  # JSON is YAML
        )
        return _checked(response)

    async def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        response = await self.http.get(_path(kind, namespace, name))
        if response.status_code == 404:
            return None
        return _checked(response)

    async def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        meta = manifest["metadata"]
        response = await self.http.post(_path(manifest["kind"], meta["namespace"]), json=manifest)
        return _checked(response)

    async def replace(self, manifest: dict[str, Any]) -> dict[str, Any]:
        meta = manifest["metadata"]
        response = await self.http.put(
            _path(manifest["kind"], meta["namespace"], meta["name"]), json=manifest
        )
        return _checked(response)

    async def delete(self, kind: str, namespace: str, name: str) -> bool:
        """Delete if present; returns whether there was something to delete."""
        response = await self.http.delete(_path(kind, namespace, name))
        if response.status_code == 404:
            return False
        _checked(response)
        return True


def _checked(response: httpx.Response) -> dict[str, Any]:
    if response.status_code < 400:
        body: dict[str, Any] = response.json()
        return body
    try:
        message = str(response.json().get("message", response.text))
    except ValueError:
        message = response.text
    if response.status_code == 409:
        raise ConflictError(409, message)
    raise KubeError(response.status_code, message)
