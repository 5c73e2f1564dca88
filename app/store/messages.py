"""The conversation of a room: an append-only Redis list of JSON messages.

A message's ``seq`` is its position in the list, so it is assigned by the same atomic RPUSH that
stores it; a retried send (same user, same ``client_id``) returns the message stored the first
time instead of storing it again.
"""

from __future__ import annotations

import builtins
import functools
import os
import time
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import orjson

from app.models import Message, Sender
from app.store import keys
from app.store.redis import Redis, ScriptBatcher

MAX_MESSAGES_PER_ROOM = 5000

_APPEND = """
local status = redis.call('HGET', KEYS[3], 'status')
if status ~= 'active' then return {-1} end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[4], ARGV[5]) ~= ARGV[6] then return {-3} end
if ARGV[1] ~= '' then
  local seq = redis.call('HGET', KEYS[2], ARGV[1])
  if seq then return {0, tonumber(seq), redis.call('LINDEX', KEYS[1], tonumber(seq) - 1)} end
end
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[4]) then return {-2} end
local seq = redis.call('RPUSH', KEYS[1], ARGV[2] .. '0' .. ARGV[7])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], seq)
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
if ARGV[8] ~= '' then
  redis.call('SPUBLISH', ARGV[8], ARGV[9] .. ARGV[2] .. seq .. ARGV[7] .. ARGV[10])
end
return {1, seq}
"""

# Rewrites a stored message in place, only if the message at its position is still the same one.
_REPLACE = """
local raw = redis.call('LINDEX', KEYS[1], tonumber(ARGV[1]) - 1)
if not raw or cjson.decode(raw)['id'] ~= ARGV[2] then return 0 end
redis.call('LSET', KEYS[1], tonumber(ARGV[1]) - 1, ARGV[3])
return 1
"""


# The message is stored with seq 0 (its position in the list is its seq); the script writes the
# real one into the copy it publishes.
_SEQ = '"seq":0'


@dataclass(frozen=True)
class Broadcast:
    """A pub/sub message the append script publishes with a new message, in the same round
    trip: ``head + <the stored message as JSON> + tail`` on the sharded channel ``channel``
    (the room's, so a Redis Cluster keeps it on the slot of the room's keys)."""

    channel: str
    head: str
    tail: str


class AppendOptions(TypedDict, total=False):
    client_id: str | None
    audio_keys: list[str] | None
    reply_to: str | None
    metadata: dict[str, str | bool | int | float] | None
    member_sid: str | None
    broadcast: Broadcast | None


class ConversationClosed(Exception):
    """The room has ended (or expired): nothing more can be said in it."""


class ConversationFull(Exception):
    pass


class NotAMember(Exception):
    """The sending socket is not (or no longer) in the room."""


# The RFC 4122 variant bits over a random hex digit: 10xx, so 8, 9, a or b.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _message_id() -> str:
    """A random UUID (version 4), as ``str(uuid.uuid4())`` writes it, in a fifth of the time:
    ``uuid.UUID`` checks its arguments in Python, once per chat message here."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def _dedupe_key(user_id: str | None, client_id: str) -> str:
    # Idempotency is per sender: another user's client_id can never return their message.
    return f"{user_id}:{client_id}"


def _with_seq(raw: str, seq: int) -> Message:
    return Message.model_validate_json(raw).model_copy(update={"seq": seq})


@functools.lru_cache(maxsize=4096)
def _sender_fields(sender: Sender) -> dict[str, Any]:
    """A sender as stored, dumped once per sender (a socket's is one object for its whole
    connection); copied into each message."""
    return sender.model_dump(exclude_none=True)


class MessageStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._replace = redis.register_script(_REPLACE)
        # Chat's hot path: concurrent appends share pipelines (one connection, few writes).
        self._append = ScriptBatcher(redis, _APPEND)

    async def append(
        self, room_id: str, sender: Sender, text: str, **options: Unpack[AppendOptions]
    ) -> tuple[Message, bool]:
        """Store a message; returns it and whether it is new (False for a retried client_id).
        The options are ``append_dumped``'s."""
        stored, new = await self.append_dumped(room_id, sender, text, **options)
        return Message.model_validate(stored), new

    async def append_dumped(
        self,
        room_id: str,
        sender: Sender,
        text: str,
        *,
        client_id: str | None = None,
        audio_keys: list[str] | None = None,
        reply_to: str | None = None,
        metadata: dict[str, str | bool | int | float] | None = None,
        member_sid: str | None = None,
        broadcast: Broadcast | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store a message; returns it as its JSON object (``Message`` dumped without its
        empty fields: chat's hot path sends it as it is, in its ack and its event) and whether
        it is new (False for a retried client_id).

        ``audio_keys`` are storage keys, kept in the message's ``audio_urls`` field and signed
        into URLs when the message is read (``app/providers/storage/links.py``).

        With ``member_sid``, the message is stored only if that socket is in the room as the
        sender (checked in the same script: one round trip, and no leave can slip in between).
        With ``broadcast``, a new message is also published by the script (a retried one is
        not: the caller broadcasts it again if it wants to), as stored: so not with audio, whose
        keys are signed into links only when read."""
        if broadcast is not None and audio_keys:
            raise ValueError("a message with audio cannot be broadcast as stored")
        fields: dict[str, Any] = {
            "id": _message_id(),
            "seq": 0,
            "room_id": room_id,
            "sender": dict(_sender_fields(sender)),
            "text": text,
            "ts": time.time(),
        }
        optional = (
            ("client_id", client_id),
            ("audio_urls", audio_keys or None),
            ("reply_to", reply_to),
            ("metadata", metadata),
        )
        fields.update((name, value) for name, value in optional if value is not None)
        dedupe_key = _dedupe_key(sender.user_id, client_id) if client_id else ""
        as_json = orjson.dumps(fields).decode()
        # `id` (a UUID) is the only field before seq: the first match is the field.
        cut = as_json.index(_SEQ) + len(_SEQ) - 1
        raw = await self._append(
            keys=[
                keys.room_messages(room_id),
                keys.room_client_ids(room_id),
                keys.room(room_id),
                keys.room_members(room_id),
            ],
            args=[
                dedupe_key,
                as_json[:cut],
                keys.ROOM_TTL,
                MAX_MESSAGES_PER_ROOM,
                member_sid or "",
                sender.user_id or "",
                as_json[cut + 1 :],
                *((broadcast.channel, broadcast.head, broadcast.tail) if broadcast else ("",) * 3),
            ],
        )
        code = int(raw[0])
        if code == -1:
            raise ConversationClosed(room_id)
        if code == -3:
            raise NotAMember(room_id)
        if code == -2:
            raise ConversationFull(room_id)
        if code == 0:  # stored before: as it was stored
            stored: dict[str, Any] = orjson.loads(raw[2])
            stored["seq"] = int(raw[1])
            return stored, False
        fields["seq"] = int(raw[1])
        return fields, True

    async def replace(self, room_id: str, message: Message) -> bool:
        """Rewrite a stored message (a reply cut to what the listener heard); False if it is
        not where its ``seq`` says."""
        stored = message.model_dump_json(exclude_none=True)
        done = await self._replace(
            keys=[keys.room_messages(room_id)], args=[message.seq, message.id, stored]
        )
        return bool(done)

    async def has_client_id(self, room_id: str, user_id: str | None, client_id: str) -> bool:
        """Whether a message with this sender's ``client_id`` is stored (the tutor's reply to a
        learner message uses one, so a reply taken over after a crash is not sent twice)."""
        return bool(
            await self._redis.hexists(
                keys.room_client_ids(room_id), _dedupe_key(user_id, client_id)
            )
        )

    async def list(
        self, room_id: str, *, after: int = 0, limit: int = 200
    ) -> builtins.list[Message]:
        """Messages with seq > after, oldest first, at most ``limit``."""
        raws = await self._redis.lrange(keys.room_messages(room_id), after, after + limit - 1)
        return [_with_seq(raw, after + i + 1) for i, raw in enumerate(raws)]

    async def recent(self, room_id: str, *, limit: int = 50) -> builtins.list[Message]:
        total = await self._redis.llen(keys.room_messages(room_id))
        return await self.list(room_id, after=max(0, total - limit), limit=limit)

    async def count(self, room_id: str) -> int:
        return int(await self._redis.llen(keys.room_messages(room_id)))
