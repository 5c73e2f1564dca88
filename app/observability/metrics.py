"""Prometheus metrics (prefix ``holo_``), one registry per app instance.

A registry per instance rather than the global default keeps several apps in one process (the
tests) from colliding, and makes the exposition exactly what this service defines.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
SESSION_BUCKETS = (60, 300, 600, 900, 1800, 2700, 3600, 5400, 7200)
MESSAGE_BUCKETS = (0, 2, 5, 10, 20, 50, 100, 200, 500)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "holo_http_requests_total",
            "HTTP requests by route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "holo_http_request_duration_seconds",
            "HTTP request duration by route template.",
            ["route"],
            registry=r,
        )
        self.socket_connections = Gauge(
            "holo_socket_connections", "Socket.IO clients connected to this replica.", registry=r
        )
        self.socket_events = Counter(
            "holo_socket_events_total",
            "Socket.IO client events by outcome (ok, invalid, forbidden, rate_limited, error...).",
            ["event", "outcome"],
            registry=r,
        )
        self.rooms_active = Gauge(
            "holo_rooms_active",
            "Rooms not yet ended, cluster-wide (every replica reports the same value: use max).",
            registry=r,
        )
        self.sessions = Counter(
            "holo_sessions_total", "Sessions by how they ended.", ["outcome"], registry=r
        )
        self.errors = Counter(
            "holo_errors_total", "Errors by component and code.", ["component", "code"], registry=r
        )
        self.rate_limited = Counter(
            "holo_rate_limited_total",
            "Requests or events refused by a rate limit.",
            ["scope"],
            registry=r,
        )
        self.turn_credentials_issued = Counter(
            "holo_turn_credentials_issued_total", "TURN REST credentials minted.", registry=r
        )
        self.llm_tokens = Counter(
            "holo_llm_tokens_total",
            "LLM tokens as reported by the provider.",
            ["model", "kind"],
            registry=r,
        )
        self.tts_characters = Counter(
            "holo_tts_characters_total",
            "Characters sent to speech synthesis.",
            ["provider"],
            registry=r,
        )
        self.llm_ttft = Histogram(
            "holo_llm_ttft_seconds",
            "LLM time to first token.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tts_ttfb = Histogram(
            "holo_tts_ttfb_seconds",
            "TTS time to first audio byte.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.reply_first_audio = Histogram(
            "holo_reply_first_audio_seconds",
            "Learner message to the first playable audio of the reply.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

        self.voice_sessions = Gauge(
            "holo_voice_sessions",
            "Tutor voice peer connections on this replica (the HPA's voice load).",
            registry=r,
        )
        self.voice_capacity = Gauge(
            "holo_voice_capacity", "HOLO_VOICE_MAX_SESSIONS of this replica.", registry=r
        )
        self.voice_barge_ins = Counter(
            "holo_voice_barge_ins_total", "Tutor speech cut by the learner speaking.", registry=r
        )
        self.stt_audio_seconds = Counter(
            "holo_stt_audio_seconds_total",
            "Seconds of learner speech sent to speech recognition.",
            ["provider"],
            registry=r,
        )
        self.stt_final_seconds = Histogram(
            "holo_stt_final_seconds",
            "End of an utterance to its final text.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

        self.voice_first_audio = Histogram(
            "holo_voice_first_audio_seconds",
            "A spoken question's end, detected (after the silence window), to the first frame of "
            "the tutor's voice sent back.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.session_duration = Histogram(
            "holo_session_duration_seconds",
            "Length of ended sessions.",
            buckets=SESSION_BUCKETS,
            registry=r,
        )
        self.session_messages = Histogram(
            "holo_session_messages",
            "Messages (learners' and the tutor's) per ended session.",
            buckets=MESSAGE_BUCKETS,
            registry=r,
        )
        self.returning_learners = Counter(
            "holo_returning_learners_total",
            "Sessions opened with a companion the learner met before.",
            registry=r,
        )
        self.summaries = Counter(
            "holo_summaries_total",
            "Session summaries written, by status (ready, skipped, failed) and reason.",
            ["status", "reason"],
            registry=r,
        )
        self.erasures = Counter(
            "holo_erasures_total", "Learners who erased their data (DELETE /api/me).", registry=r
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
