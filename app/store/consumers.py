"""Removing the consumers of a job stream's group that no replica reads as any more.

Each replica reads the job streams (the tutor's replies, the session summaries) as a consumer
named after its replica id, which is new at every start. Redis keeps a group's consumers until
they are deleted, so every rollout and every crash used to leave its replicas' consumers behind
for good (``XINFO CONSUMERS`` growing without end). Whichever replica runs the check removes the
consumers that hold no entry and have not read for a long while; one that still holds entries
is left until another replica has claimed them, since removing it would drop them unclaimed.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import ResponseError

from app.store.redis import Redis

log = logging.getLogger(__name__)

# A live replica reads its groups every few seconds; a consumer idle this long is gone (or
# stalled: removing it loses nothing, its next read creates it again).
STALE_CONSUMER_SECONDS = 3600
# How often each replica looks (XINFO CONSUMERS walks the group's consumers).
PRUNE_INTERVAL_SECONDS = 300

# In one script, so that no read can slip between the check and the removal: a consumer
# removed with entries pending would take them out of reach of XAUTOCLAIM.
_PRUNE = """
local removed = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local fields = {}
  for i = 1, #consumer, 2 do fields[consumer[i]] = consumer[i + 1] end
  if fields['name'] ~= ARGV[3] and fields['pending'] == 0
      and fields['idle'] >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], fields['name'])
    removed = removed + 1
  end
end
return removed
"""


class StaleConsumers:
    """The check for one group, as one replica (``keep``, its own consumer) runs it."""

    def __init__(self, redis: Redis, stream: str, group: str, *, keep: str) -> None:
        self._prune = redis.register_script(_PRUNE)
        self._stream, self._group, self._keep = stream, group, keep
        self._pruned_at: float | None = None

    async def prune_when_due(self) -> int:
        """``prune`` at the first call and then every ``PRUNE_INTERVAL_SECONDS`` (0 between):
        the job loops call it on each of their ticks."""
        now = time.monotonic()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_INTERVAL_SECONDS:
            return 0
        self._pruned_at = now
        removed = await self.prune()
        if removed:
            log.info("removed %d consumers of replicas gone from group %s", removed, self._group)
        return removed

    async def prune(self, idle_seconds: float | None = None) -> int:
        """Removes the group's consumers (other than ours) that hold no entry and have been
        idle for ``idle_seconds`` (default ``STALE_CONSUMER_SECONDS``); returns how many."""
        idle = STALE_CONSUMER_SECONDS if idle_seconds is None else idle_seconds
        try:
            removed = await self._prune(
                keys=[self._stream], args=[self._group, int(idle * 1000), self._keep]
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc) or "no such key" in str(exc):
                return 0  # nothing read yet (or Redis lost the stream): nothing to remove
            raise
        return int(removed)
