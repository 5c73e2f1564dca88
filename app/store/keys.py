"""Every Redis key name and TTL, in one place.

Keys share the prefix ``holo:``. Room-scoped keys put the room id in a hash tag (``{room}``) so
that a Redis Cluster keeps one room's keys on one slot and multi-key scripts stay legal.
"""

from __future__ import annotations

from holo_turn.keys import current_secret_hash

PREFIX = "holo:"

# TTLs in seconds (the seed's data-model lifetimes).
ROOM_TTL = 2 * 3600  # room metadata, members and its active conversation
SESSION_TTL = 30 * 24 * 3600  # session records and transcripts
RATE_LIMIT_WINDOW = 60
USAGE_TTL = 40 * 24 * 3600  # a monthly counter outlives its month by a little


def room(room_id: str) -> str:
    """Hash: room metadata (owner, companion, status, timestamps, invite digest)."""
    return f"{PREFIX}room:{{{room_id}}}"


def room_members(room_id: str) -> str:
    """Hash: socket id -> user id of the humans in the room now."""
    return f"{PREFIX}room:{{{room_id}}}:members"


def room_member_info(room_id: str) -> str:
    """Hash: socket id -> JSON {sid, user_id, display_name, replica} for presence lists."""
    return f"{PREFIX}room:{{{room_id}}}:member-info"


def room_access(room_id: str) -> str:
    """Set: user ids allowed to read and join the room (the owner and invite holders)."""
    return f"{PREFIX}room:{{{room_id}}}:access"


def room_messages(room_id: str) -> str:
    """List: the conversation, one JSON message per entry, in order."""
    return f"{PREFIX}room:{{{room_id}}}:messages"


def room_client_ids(room_id: str) -> str:
    """Hash: client_id -> stored message JSON, so a retried send is stored once."""
    return f"{PREFIX}room:{{{room_id}}}:client-ids"


def session(session_id: str) -> str:
    """String: the JSON session record written when a room ends."""
    return f"{PREFIX}session:{session_id}"


def session_transcript(session_id: str) -> str:
    """List: the conversation of an ended room, kept for the history pages."""
    return f"{PREFIX}session:{session_id}:transcript"


def user_sessions(user_id: str) -> str:
    """Sorted set: a user's session ids scored by end time."""
    return f"{PREFIX}user:{user_id}:sessions"


def replicas() -> str:
    """Set: replica ids that have registered; the reaper checks each for a heartbeat."""
    return f"{PREFIX}replicas"


def replica_alive(replica_id: str) -> str:
    """String with a short TTL: present while the replica is alive."""
    return f"{PREFIX}replica:{replica_id}:alive"


def replica_sockets(replica_id: str) -> str:
    """Hash: socket id -> room id for the members held by one replica (for cleanup on death)."""
    return f"{PREFIX}replica:{replica_id}:sockets"


# A safety net only: slots are given back on disconnect, or by the reaper when a replica dies.
CONNECTION_SLOT_TTL = 24 * 3600


def connections_of_user(user_id: str) -> str:
    """Hash: Socket.IO sid -> replica id, the user's open connections (capped per user)."""
    return f"{PREFIX}connections:user:{user_id}"


def connections_of_ip(ip: str) -> str:
    """Hash: Engine.IO sid -> replica id, a client address's open transports (capped per IP)."""
    return f"{PREFIX}connections:ip:{ip}"


def replica_connections(replica_id: str) -> str:
    """Set: "<subject key> <connection id>" for every slot a replica holds (for the reaper)."""
    return f"{PREFIX}replica:{replica_id}:connections"


def rate_limit(scope: str, subject: str, window: int) -> str:
    return f"{PREFIX}ratelimit:{scope}:{subject}:{window}"


# Hash {id, secret, created_at}: the TURN REST secret the app signs with (written by the
# operator, so the name is shared with it).
turn_current_secret = current_secret_hash


def socketio_channel() -> str:
    """Pub/sub channel shared by every replica: Socket.IO events not addressed to a room."""
    return f"{PREFIX}socketio"


def room_channel(room_id: str) -> str:
    """Sharded pub/sub channel of one room's Socket.IO events (on the room's slot in a Cluster);
    a replica subscribes while one of its clients is in the room."""
    return f"{PREFIX}room:{{{room_id}}}:events"


def active_rooms() -> str:
    """Sorted set: room ids of rooms not yet ended, scored by creation time (for the gauge)."""
    return f"{PREFIX}rooms:active"


# -- the tutor (app/tutor) ------------------------------------------------------------------------

TUTOR_GROUP = "tutor"  # the consumer group every replica reads reply jobs in
TUTOR_JOBS_MAXLEN = 10_000  # the stream is trimmed (approximately) to this many entries
TUTOR_ATTEMPTS_TTL = 3600


# The job stream, the control stream and the rooms' turns share one hash tag: the script that
# moves a turn also queues the job and posts the stop, atomically, which a Redis Cluster allows
# only within one slot (and a replica reads both streams in one XREAD). The streams are global
# anyway, so the tag puts nothing on that slot that was not there already.
_TUTOR = f"{PREFIX}tutor:{{tutor}}"


def tutor_jobs() -> str:
    """Stream: one entry per learner message to answer, read by the replicas' consumer group."""
    return f"{_TUTOR}:jobs"


def tutor_attempts(message_id: str) -> str:
    """Counter: how many times a reply job was started (a job that keeps failing is dropped)."""
    return f"{PREFIX}tutor:attempts:{message_id}"


TUTOR_CONTROL_MAXLEN = 1000


def tutor_control() -> str:
    """Stream: barge-in requests, read by every replica (plain XREAD, no group)."""
    return f"{_TUTOR}:control"


def room_turn(room_id: str) -> str:
    """String: the id of the learner message the tutor should answer now ("" after a stop);
    on the tutor's slot, not the room's (see ``_TUTOR``)."""
    return f"{_TUTOR}:turn:{room_id}"


def room_notice(room_id: str, code: str) -> str:
    """String: set once a notice (like "voice off: budget") was sent to the room."""
    return f"{PREFIX}room:{{{room_id}}}:notice:{code}"


def usage(period: str) -> str:
    """Hash: provider usage in one period ("month:2026-11" or "day:2026-11-29"); fields
    ``llm:{provider}:{model}:{prompt|completion}``, ``tts:{provider}:{characters|billed}`` and
    the budget totals ``llm_tokens`` and ``tts_billed``."""
    # One hash tag for every period: the month and the day are updated in one MULTI, which a
    # Redis Cluster allows only within one slot.
    return f"{PREFIX}usage:{{usage}}:{period}"


# -- the learner (profile, memory, progress; app/store/profiles.py, app/store/summaries.py) ------

# A learner's own records outlive the 30-day sessions (progress and the weekly streak are kept
# across months); every write refreshes the TTL, so a learner who stops coming is forgotten.
LEARNER_TTL = 400 * 24 * 3600
SUMMARY_GROUP = "summaries"  # the consumer group every replica reads summary jobs in
SUMMARY_JOBS_MAXLEN = 10_000
# How long one replica holds the right to summarize a session before another may try.
SUMMARY_CLAIM_TTL = 120


def user_prefix(user_id: str) -> str:
    """What every key of one learner's own starts with (erasure deletes them all)."""
    return f"{PREFIX}user:{user_id}:"


def user_profile(user_id: str) -> str:
    """String: the learner's profile JSON (display name, language, goals, levels, memory)."""
    return f"{PREFIX}user:{user_id}:profile"


def user_progress(user_id: str) -> str:
    """Hash: ``{companion}:sessions|seconds|messages|last`` counters, one set per companion."""
    return f"{PREFIX}user:{user_id}:progress"


def user_topics(user_id: str) -> str:
    """Hash: ``{companion}\\n{topic}`` -> sessions that practised it (from the summaries)."""
    return f"{PREFIX}user:{user_id}:topics"


def user_weeks(user_id: str) -> str:
    """Set: ISO weeks (``2026-W49``) with at least one session, for the weekly streak."""
    return f"{PREFIX}user:{user_id}:weeks"


def user_memory(user_id: str, companion_id: str) -> str:
    """Sorted set: session ids with a written summary, per companion, scored by end time."""
    return f"{PREFIX}user:{user_id}:memory:{companion_id}"


def session_summary(session_id: str) -> str:
    """String: the session's summary JSON, written once (by whichever replica took the job)."""
    return f"{PREFIX}session:{session_id}:summary"


def summary_claim(session_id: str) -> str:
    """String with a TTL: the replica summarizing the session now."""
    return f"{PREFIX}session:{session_id}:summary-claim"


def summary_jobs() -> str:
    """Stream: one entry per ended session to summarize, read by the replicas' consumer group."""
    return f"{PREFIX}summaries:jobs"


def room_memory(room_id: str) -> str:
    """String: what the tutor remembers of the room owner, fixed when the room opens."""
    return f"{PREFIX}room:{{{room_id}}}:memory"
