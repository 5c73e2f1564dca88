"""Rooms, their members and who may enter them.

Membership is a Redis hash (socket id -> user id), changed only by Lua scripts so that the
two-human limit and the "same user reconnecting replaces their old socket" rule hold however many
replicas join people at once.

Each script touches the keys of one room only (one slot of a Redis Cluster). The replica's own
index of its sockets (for the reaper, ``app/realtime/presence.py``) lives elsewhere and is
written around the script: before a join (so a member is never missing from it) and after a
leave (so it is never missing while the member is there). A stale entry, from a process that died
in between, is harmless: the reaper's leave finds no member and announces nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Literal

from app.models import Peer, Room
from app.store import keys
from app.store.redis import Redis

MAX_HUMANS = 2

JoinOutcome = Literal["ok", "not_found", "room_ended", "forbidden", "room_full"]
RelayOutcome = Literal["ok", "not_joined", "room_ended", "peer_not_found"]

_JOIN = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'not_found'} end
local sid, user = ARGV[1], ARGV[2]
-- Access first: a stranger must not learn that a room existed and ended.
if redis.call('SISMEMBER', KEYS[4], user) == 0 and ARGV[6] ~= '1' then
  return {'forbidden'}
end
if status ~= 'active' then return {'room_ended'} end
local members = redis.call('HGETALL', KEYS[2])
local others, replaced, count = {}, {}, 0
for i = 1, #members, 2 do
  local s, u = members[i], members[i + 1]
  if u == user then
    if s ~= sid then table.insert(replaced, s) end
  elseif not others[u] then
    others[u] = true
    count = count + 1
  end
end
if count >= tonumber(ARGV[5]) then return {'room_full'} end
local result = {'ok'}
for _, s in ipairs(replaced) do
  table.insert(result, s)
  table.insert(result, redis.call('HGET', KEYS[3], s) or '')
  redis.call('HDEL', KEYS[2], s)
  redis.call('HDEL', KEYS[3], s)
end
redis.call('SADD', KEYS[4], user)
redis.call('HSET', KEYS[2], sid, user)
redis.call('HSET', KEYS[3], sid, ARGV[3])
local ttl = tonumber(ARGV[4])
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ttl) end
return result
"""

# The replica's socket index (sid -> the room it is in): a socket moving to another room is
# indexed under the new one before it leaves the old, so each step changes the entry only if it
# is still what that step expects (a refused join puts back the room the socket was in).
_INDEX = """
local before = redis.call('HGET', KEYS[1], ARGV[1]) or ''
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return before
"""

_UNINDEX = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
"""

_LEAVE = """
local info = redis.call('HGET', KEYS[2], ARGV[1])
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return false end
redis.call('HDEL', KEYS[2], ARGV[1])
return info or ''
"""


@dataclass(frozen=True)
class JoinResult:
    outcome: JoinOutcome
    # Sockets of the same user that this join replaced (a reconnect from a new socket).
    replaced: tuple[Peer, ...] = ()


@dataclass(frozen=True)
class NewRoom:
    room: Room
    invite_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _peer(raw: str) -> Peer | None:
    if not raw:
        return None
    return Peer.model_validate_json(raw)


class RoomStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._join = redis.register_script(_JOIN)
        self._leave = redis.register_script(_LEAVE)
        self._index = redis.register_script(_INDEX)
        self._unindex = redis.register_script(_UNINDEX)

    async def create(self, owner_id: str, companion_id: str) -> NewRoom:
        room_id = str(uuid.uuid4())
        invite_token = secrets.token_urlsafe(24)
        room = Room(
            room_id=room_id,
            owner_id=owner_id,
            companion_id=companion_id,
            status="active",
            created_at=time.time(),
        )
        fields = {
            **{k: str(v) for k, v in room.model_dump(exclude_none=True).items()},
            "invite_digest": _digest(invite_token),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.room(room_id), mapping=fields)
            pipe.expire(keys.room(room_id), keys.ROOM_TTL)
            pipe.sadd(keys.room_access(room_id), owner_id)
            pipe.expire(keys.room_access(room_id), keys.ROOM_TTL)
            await pipe.execute()
        # The index (another slot) only feeds the gauge; one left behind lapses with ROOM_TTL.
        await self._redis.zadd(keys.active_rooms(), {room_id: room.created_at})
        return NewRoom(room=room, invite_token=invite_token)

    async def ended(self, room_id: str) -> None:
        """Take an ended room out of the active index (the session store marks it ended)."""
        await self._redis.zrem(keys.active_rooms(), room_id)

    async def count_active(self, now: float) -> int:
        """Rooms not ended, across the cluster; a room that expired without being ended (its
        keys lapsed after ``ROOM_TTL``) is dropped from the index here."""
        await self._redis.zremrangebyscore(keys.active_rooms(), "-inf", now - keys.ROOM_TTL)
        return int(await self._redis.zcard(keys.active_rooms()))

    async def first_notice(self, room_id: str, code: str) -> bool:
        """True the first time a notice ``code`` is sent to a room (the room is told once)."""
        return bool(
            await self._redis.set(keys.room_notice(room_id, code), "1", nx=True, ex=keys.ROOM_TTL)
        )

    async def get(self, room_id: str) -> Room | None:
        fields = await self._redis.hgetall(keys.room(room_id))
        if not fields:
            return None
        fields.pop("invite_digest", None)
        return Room.model_validate(fields)

    async def invite_matches(self, room_id: str, invite_token: str) -> bool:
        digest = await self._redis.hget(keys.room(room_id), "invite_digest")
        return digest is not None and hmac.compare_digest(digest, _digest(invite_token))

    async def has_access(self, room_id: str, user_id: str) -> bool:
        return bool(await self._redis.sismember(keys.room_access(room_id), user_id))

    async def participants(self, room_id: str) -> list[str]:
        return sorted(await self._redis.smembers(keys.room_access(room_id)))

    async def join(self, room_id: str, peer: Peer, *, replica_id: str, invited: bool) -> JoinResult:
        held = keys.replica_sockets(replica_id)
        before = await self._index(keys=[held], args=[peer.sid, room_id])
        raw = await self._join(
            keys=[
                keys.room(room_id),
                keys.room_members(room_id),
                keys.room_member_info(room_id),
                keys.room_access(room_id),
            ],
            args=[
                peer.sid,
                peer.user_id,
                peer.model_dump_json(),
                keys.ROOM_TTL,
                MAX_HUMANS,
                "1" if invited else "0",
            ],
        )
        outcome: JoinOutcome = raw[0]
        if outcome != "ok":
            await self._unindex(keys=[held], args=[peer.sid, room_id, before])
        replaced = []
        for i in range(1, len(raw), 2):
            old = _peer(raw[i + 1]) or Peer(sid=raw[i], user_id=peer.user_id, display_name="")
            replaced.append(old)
        return JoinResult(outcome=outcome, replaced=tuple(replaced))

    async def leave(self, room_id: str, sid: str, *, replica_id: str) -> Peer | None:
        """Remove a socket from a room; returns the peer if it was there (so that peer-left is
        sent once, by whoever removed it)."""
        raw = await self._leave(
            keys=[keys.room_members(room_id), keys.room_member_info(room_id)], args=[sid]
        )
        await self._unindex(keys=[keys.replica_sockets(replica_id)], args=[sid, room_id, ""])
        if raw is None:
            return None
        return _peer(raw) or Peer(sid=sid, user_id="", display_name="")

    async def peers(self, room_id: str) -> list[Peer]:
        infos = await self._redis.hgetall(keys.room_member_info(room_id))
        return sorted(
            (Peer.model_validate_json(raw) for raw in infos.values()), key=lambda p: p.sid
        )

    async def may_relay(self, room_id: str, sender: str, to: str) -> RelayOutcome:
        """Whether a signal may go from one socket to another in a room: both members, and
        the room not ended (one round trip)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.room(room_id), "status")
            pipe.hmget(keys.room_members(room_id), [sender, to])
            status, (sender_user, to_user) = await pipe.execute()
        if sender_user is None:
            return "not_joined"
        if status != "active":
            return "room_ended"
        if to == sender or to_user is None:
            return "peer_not_found"
        return "ok"

    async def member_user(self, room_id: str, sid: str) -> str | None:
        user: str | None = await self._redis.hget(keys.room_members(room_id), sid)
        return user
