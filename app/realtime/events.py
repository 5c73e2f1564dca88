"""The client's Socket.IO events (docs/api.md): connection auth, join/leave, signaling and chat.

Every client event goes through ``_handle``: rate limit, payload validation, then the handler;
whatever happens the client gets an ack ``{ok: true, ...}`` or ``{ok: false, error: {code,
message}}`` and the metrics count the outcome. A bad payload never changes state and never
reaches the log as a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import socketio
from prometheus_client import Counter
from pydantic import BaseModel, ValidationError

from app.models import Identity, Message, Peer, Sender
from app.realtime import schemas
from app.realtime.manager import RedisPubSubManager
from app.realtime.server import GuardedServer, Refusal, client_ip
from app.security.token_bucket import TokenBucket
from app.security.tokens import InvalidToken
from app.server_events import (
    Answer,
    CandidateRelay,
    Notice,
    NoticeCode,
    Offer,
    PeerJoined,
    PeerLeft,
    RoomMessage,
    ServerEvent,
    ServerEvents,
)
from app.services import Services
from app.store.messages import ConversationClosed, ConversationFull, NotAMember
from app.store.redis import UNAVAILABLE_ERRORS
from app.voice.addressing import for_tutor
from app.voice.hub import VoiceBusy, VoiceHub
from app.voice.session import BadCandidate, BadOffer

log = logging.getLogger(__name__)

P = TypeVar("P", bound=BaseModel)
Ack = dict[str, Any]


class EventError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Client:
    """What this replica knows about one of its connections."""

    identity: Identity
    bucket: TokenBucket
    # Who its chat messages are from: the identity's, built once rather than per message.
    sender: Sender
    rooms: set[str] = field(default_factory=set)


def _error(code: str, message: str) -> Ack:
    return {"ok": False, "error": {"code": code, "message": message}}


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return f"{where}: {first['msg']}"


_JOIN_REFUSALS = {
    "not_found": ("room_not_found", "No such room, or you need an invite link to join it."),
    "forbidden": ("room_not_found", "No such room, or you need an invite link to join it."),
    "room_ended": ("room_ended", "This room has ended."),
    "room_full": ("room_full", "This room already has two people in the call."),
}

_RELAY_REFUSALS = {
    "not_joined": ("not_joined", "Join the room first."),
    "room_ended": ("room_ended", "This room has ended."),
    "peer_not_found": ("peer_not_found", "That peer is not in this room."),
}


class RealtimeEvents:
    def __init__(self, sio: GuardedServer, services: Services) -> None:
        self.sio = sio
        self.s = services
        self.events = ServerEvents(sio)
        self.clients: dict[str, Client] = {}
        self.replica_id = services.replicas.replica_id
        # The metric's child per (event, outcome): ``labels()`` takes a lock and checks its
        # arguments on every call, and a chat message is counted on the hot path.
        self._counts: dict[tuple[str, str], Counter] = {}
        sio.gate = self
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        self._on("join", schemas.Join, self.join)
        self._on("leave", schemas.Leave, self.leave)
        self._on("offer", schemas.Describe, self.describe(Offer))
        self._on("answer", schemas.Describe, self.describe(Answer))
        self._on("candidate", schemas.Candidate, self.candidate)
        self._on("message", schemas.ChatMessage, self.message)
        self._on("stop", schemas.Stop, self.stop)
        self._on("tutor-offer", schemas.TutorOffer, self.tutor_offer)
        self._on("tutor-candidate", schemas.TutorCandidate, self.tutor_candidate)
        self._on("tutor-leave", schemas.TutorLeave, self.tutor_leave)
        self._on("tutor-ask", schemas.TutorAsk, self.tutor_ask)

    # -- plumbing ---------------------------------------------------------------------------

    def _on(
        self, event: str, model: type[P], handler: Callable[[str, Client, P], Awaitable[Ack]]
    ) -> None:
        assert schemas.CLIENT_EVENTS.get(event) is model, f"{event}: add it to CLIENT_EVENTS"

        async def handle(sid: str, data: Any = None, *extra: Any) -> Ack:
            outcome, ack = await self._handle(sid, event, model, handler, data, extra)
            self._count(event, outcome)
            return ack

        self.sio.on(event, handle)

    async def _handle(
        self,
        sid: str,
        event: str,
        model: type[P],
        handler: Callable[[str, Client, P], Awaitable[Ack]],
        data: Any,
        extra: tuple[Any, ...],
    ) -> tuple[str, Ack]:
        client = self.clients.get(sid)
        if client is None:
            return "unauthorized", _error("unauthorized", "Connect again with a valid token.")
        if not client.bucket.take():
            self.s.metrics.rate_limited.labels("socket").inc()
            return "rate_limited", _error("rate_limited", "Too many events; slow down.")
        if extra or not isinstance(data, dict):
            return "invalid", _error("invalid_payload", "The payload must be one JSON object.")
        try:
            payload = model.model_validate(data)
        except ValidationError as exc:
            return "invalid", _error("invalid_payload", _validation_message(exc))
        try:
            return "ok", {"ok": True, **await handler(sid, client, payload)}
        except EventError as exc:
            return exc.code, _error(exc.code, exc.message)
        except UNAVAILABLE_ERRORS as exc:
            self.s.metrics.errors.labels("realtime", "store_unavailable").inc()
            log.warning("store unavailable during %s: %s", event, exc)
            return "unavailable", _error(
                "unavailable", "The service is briefly unavailable; retry."
            )
        except Exception:
            self.s.metrics.errors.labels("realtime", "internal").inc()
            log.exception("%s handler failed", event)
            return "error", _error("internal", "Something went wrong on our side.")

    def _count(self, event: str, outcome: str) -> None:
        if (child := self._counts.get((event, outcome))) is None:
            child = self.s.metrics.socket_events.labels(event, outcome)
            self._counts[(event, outcome)] = child
        child.inc()

    def _peer(self, sid: str, client: Client) -> Peer:
        return Peer(
            sid=sid, user_id=client.identity.user_id, display_name=client.identity.display_name
        )

    async def _require_member(self, room_id: str, sid: str, client: Client) -> None:
        if room_id not in client.rooms or await self.s.rooms.member_user(room_id, sid) is None:
            raise EventError("not_joined", "Join the room first.")

    # -- connection -------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if self.s.lifecycle.draining:
            raise socketio.exceptions.ConnectionRefusedError(
                "This server is restarting; reconnecting.", {"code": "draining"}
            )
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            who = await self.s.tokens.verify(token if isinstance(token, str) else None)
        except InvalidToken as exc:
            self.s.metrics.socket_events.labels("connect", "unauthorized").inc()
            # The client sees err.message and err.data.code.
            raise socketio.exceptions.ConnectionRefusedError(
                str(exc), {"code": "unauthorized"}
            ) from None
        try:
            admitted = await self.s.connections.acquire_user(who.user_id, sid)
        except UNAVAILABLE_ERRORS as exc:
            admitted = True  # fail open: the event limits still hold, and joins need Redis
            log.warning("connection cap unavailable: %s", exc)
        if not admitted:
            self.s.metrics.socket_events.labels("connect", "too_many_connections").inc()
            raise socketio.exceptions.ConnectionRefusedError(
                f"You have {self.s.connections.per_user} connections open already; close a "
                "tab and try again.",
                {"code": "too_many_connections"},
            )
        settings = self.s.settings
        self.clients[sid] = Client(
            identity=who,
            bucket=TokenBucket(settings.socket_events_per_second, settings.socket_event_burst),
            sender=Sender(kind="user", user_id=who.user_id, display_name=who.display_name),
        )
        self.s.metrics.socket_connections.inc()
        self.s.metrics.socket_events.labels("connect", "ok").inc()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        client = self.clients.pop(sid, None)
        if client is None:
            return
        self.s.metrics.socket_connections.dec()
        if self.s.voice is not None:
            await self.s.voice.leave(sid)
        try:
            await self.s.connections.release_user(client.identity.user_id, sid)
        except UNAVAILABLE_ERRORS as exc:
            log.warning("could not give back the connection slot of %s: %s", sid, exc)
        for room_id in list(client.rooms):
            try:
                await self._remove(sid, room_id)
            except UNAVAILABLE_ERRORS as exc:
                # The replica heartbeat will clean this member up once Redis is back.
                log.warning("could not remove %s from %s: %s", sid, room_id, exc)

    async def _remove(self, sid: str, room_id: str) -> None:
        await self.remove_member(room_id, sid, self.replica_id)

    async def remove_member(self, room_id: str, sid: str, replica_id: str) -> None:
        """Take a socket out of a room and tell the others; only whoever removed it tells them
        (a disconnect here, or the reaper of a dead replica), so peer-left goes out once."""
        left = await self.s.rooms.leave(room_id, sid, replica_id=replica_id)
        if left is not None:
            await self._peer_left(room_id, left, skip_sid=sid)

    async def _peer_left(self, room_id: str, peer: Peer, *, skip_sid: str) -> None:
        await self.events.send(PeerLeft(**peer.model_dump()), room=room_id, skip_sid=skip_sid)

    async def transport_opened(self, eio_sid: str, environ: dict[str, Any]) -> Refusal | None:
        try:
            admitted = await self.s.connections.acquire_ip(client_ip(environ), eio_sid)
        except UNAVAILABLE_ERRORS as exc:
            log.warning("connection cap unavailable: %s", exc)
            return None
        if admitted:
            return None
        self.s.metrics.socket_events.labels("transport", "too_many_connections").inc()
        return Refusal(
            code="too_many_connections",
            message="Too many connections from your address; close some and try again.",
        )

    async def transport_closed(self, eio_sid: str, environ: dict[str, Any]) -> None:
        try:
            await self.s.connections.release_ip(client_ip(environ), eio_sid)
        except UNAVAILABLE_ERRORS as exc:
            log.warning("could not give back the transport slot of %s: %s", eio_sid, exc)

    # -- rooms ------------------------------------------------------------------------------

    async def join(self, sid: str, client: Client, p: schemas.Join) -> Ack:
        invited = bool(p.invite_token) and await self.s.rooms.invite_matches(
            p.room_id, p.invite_token or ""
        )
        me = self._peer(sid, client)
        result = await self.s.rooms.join(p.room_id, me, replica_id=self.replica_id, invited=invited)
        if result.outcome != "ok":
            raise EventError(*_JOIN_REFUSALS[result.outcome])
        for other_room in client.rooms - {p.room_id}:
            if self.s.voice is not None:
                await self.s.voice.leave(sid, other_room)
            await self._remove(sid, other_room)
            await self.sio.leave_room(sid, other_room)
        client.rooms = {p.room_id}
        # Old sockets of the same person (a reconnect that beat the cleanup of the old one).
        for old in result.replaced:
            await self._peer_left(p.room_id, old, skip_sid=sid)
            await self.sio.leave_room(old.sid, p.room_id)
        await self.sio.enter_room(sid, p.room_id)
        await self.events.send(PeerJoined(**me.model_dump()), room=p.room_id, skip_sid=sid)
        # Read after entering the room: anything said from now on arrives as an event, anything
        # said before is in this list, so nothing falls in between.
        peers = [peer for peer in await self.s.rooms.peers(p.room_id) if peer.sid != sid]
        recent = await self.s.with_audio_links(await self.s.messages.recent(p.room_id))
        room = await self.s.rooms.get(p.room_id)
        return {
            "peers": [peer.model_dump() for peer in peers],
            "messages": [m.model_dump(mode="json", exclude_none=True) for m in recent],
            "you": me.model_dump(),
            "room": room.model_dump(exclude_none=True) if room else None,
        }

    async def leave(self, sid: str, client: Client, p: schemas.Leave) -> Ack:
        if p.room_id in client.rooms:
            client.rooms.discard(p.room_id)
            if self.s.voice is not None:
                await self.s.voice.leave(sid, p.room_id)
            await self._remove(sid, p.room_id)
            await self.sio.leave_room(sid, p.room_id)
        return {}

    # -- signaling --------------------------------------------------------------------------

    def describe(
        self, relay: type[Offer | Answer]
    ) -> Callable[[str, Client, schemas.Describe], Awaitable[Ack]]:
        async def forward(sid: str, client: Client, p: schemas.Describe) -> Ack:
            await self._forward(sid, client, p.room_id, p.to, relay(from_=sid, sdp=p.sdp))
            return {}

        return forward

    async def candidate(self, sid: str, client: Client, p: schemas.Candidate) -> Ack:
        relay = CandidateRelay(from_=sid, candidate=p.candidate)
        await self._forward(sid, client, p.room_id, p.to, relay)
        return {}

    async def _forward(
        self, sid: str, client: Client, room_id: str, to: str, relay: ServerEvent
    ) -> None:
        verdict = (
            await self.s.rooms.may_relay(room_id, sid, to) if room_id in client.rooms else None
        )
        if verdict != "ok":
            raise EventError(*_RELAY_REFUSALS[verdict or "not_joined"])
        # Through the room's channel: only the replicas with a client in the room see it.
        await self.events.send(relay, to=to, via_room=room_id)

    # -- chat -------------------------------------------------------------------------------

    async def message(self, sid: str, client: Client, p: schemas.ChatMessage) -> Ack:
        if p.room_id not in client.rooms:
            raise EventError("not_joined", "Join the room first.")
        manager = self.sio.manager
        # With Redis, the store's script publishes the message to the other replicas as it
        # stores it: one round trip.
        broadcast = (
            manager.broadcast(p.room_id, "message", sid)
            if isinstance(manager, RedisPubSubManager)
            else None
        )
        try:
            out, _new = await self.s.messages.append_dumped(
                p.room_id,
                client.sender,
                p.text,
                client_id=p.client_id,
                member_sid=sid,
                broadcast=broadcast,
            )
        except NotAMember:
            raise EventError("not_joined", "Join the room first.") from None
        except ConversationClosed:
            raise EventError("room_ended", "This room has ended.") from None
        except ConversationFull:
            raise EventError(
                "conversation_full", "This conversation is too long; start a new room."
            ) from None
        # One JSON object for the ack and the event alike (a RoomMessage is the Message on the
        # wire). Stored first, then broadcast to the others; a retried client_id is broadcast
        # again (clients drop ids they have) in case the first broadcast was what failed.
        # With the script's broadcast, the other replicas have it: this one's clients remain.
        await self.events.send_dumped(
            RoomMessage,
            out,
            room=p.room_id,
            skip_sid=sid,
            local_only=broadcast is not None and _new,
        )
        if self.s.tutor is not None and await self._for_tutor(p.room_id, p.text, p.to_tutor):
            # Stops the reply in flight (barge-in) and queues the answer to this one (once).
            stored = Message.model_validate(out)
            await self.s.tutor.on_learner_message(p.room_id, stored, retried=not _new)
        return {"message": out}

    async def _for_tutor(self, room_id: str, text: str, asked: bool) -> bool:
        """Alone with the tutor, every message is for it; with two people, only what is
        addressed to it (the Ask toggle, or its name first)."""
        humans = len({peer.user_id for peer in await self.s.rooms.peers(room_id)})
        if humans <= 1 or asked:
            return True
        room = await self.s.rooms.get(room_id)
        companion = self.s.catalogue.get(room.companion_id) if room else None
        name = companion.name if companion else ""
        return for_tutor(humans=humans, asked=asked, text=text, companion_name=name)

    async def stop(self, sid: str, client: Client, p: schemas.Stop) -> Ack:
        await self._require_member(p.room_id, sid, client)
        if self.s.tutor is not None:
            await self.s.tutor.stop(p.room_id, p.reply_id)
        return {}

    # -- the tutor in the call ---------------------------------------------------------------

    def _voice(self) -> VoiceHub:
        if self.s.voice is None:
            raise EventError("voice_unavailable", "Talking with the tutor is not available.")
        return self.s.voice

    async def _require_room(self, room_id: str, sid: str, client: Client) -> None:
        if room_id not in client.rooms or await self.s.rooms.member_user(room_id, sid) is None:
            raise EventError("room_not_found", "Join this room before talking with its tutor.")

    async def tutor_offer(self, sid: str, client: Client, p: schemas.TutorOffer) -> Ack:
        voice = self._voice()
        await self._require_room(p.room_id, sid, client)
        try:
            sdp = await voice.offer(sid, p.room_id, client.identity.user_id, p.sdp.sdp)
        except VoiceBusy:
            raise EventError(
                "voice_busy", "The tutor cannot take more voice calls here; type instead."
            ) from None
        except BadOffer as exc:
            raise EventError("invalid_payload", str(exc)) from None
        return {"sdp": {"type": "answer", "sdp": sdp}}

    async def tutor_candidate(self, sid: str, client: Client, p: schemas.TutorCandidate) -> Ack:
        voice = self._voice()
        await self._require_room(p.room_id, sid, client)
        try:
            await voice.candidate(sid, p.candidate.model_dump(exclude_none=True))
        except BadCandidate as exc:
            raise EventError("invalid_payload", str(exc)) from None
        return {}

    async def tutor_leave(self, sid: str, client: Client, p: schemas.TutorLeave) -> Ack:
        if self.s.voice is not None:
            await self.s.voice.leave(sid, p.room_id)
        return {}

    async def tutor_ask(self, sid: str, client: Client, p: schemas.TutorAsk) -> Ack:
        await self._require_room(p.room_id, sid, client)
        self._voice().ask(sid, p.room_id, p.active)
        return {}

    # -- shutdown ---------------------------------------------------------------------------

    async def disconnect_all_for_restart(self) -> None:
        """Tell this replica's clients we are going; they reconnect, through the load balancer,
        to a replica that is staying."""
        await self.reconnect_clients("server_restarting", "Reconnecting you to another server.")

    async def reconnect_clients(self, code: NoticeCode, message: str) -> None:
        """Send a notice, then close the transports: a transport close (unlike a Socket.IO
        disconnect) makes socket.io clients reconnect by themselves, and rejoin their rooms."""
        await self.events.send(Notice(code=code, message=message), local_only=True)
        for sid in list(self.clients):
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
            if eio_sid is not None:
                await self.sio.eio.disconnect(eio_sid)
