"""Settings: the only place that reads the environment (prefix ``HOLO_``).

Every other module receives a ``Settings`` instance; nothing else calls ``os.environ``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Refused when HOLO_ENV=production: a deployment that forgot to set its own secret.
DEV_AUTH_SECRET = "dev-insecure-auth-secret-change-me-0000000000"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class STTProvider(StrEnum):
    OFFLINE = "offline"
    OPENAI = "openai"
    DEEPGRAM = "deepgram"


class TTSProvider(StrEnum):
    ELEVENLABS = "elevenlabs"
    ESPEAK = "espeak"
    NONE = "none"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CsvList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOLO_", extra="ignore", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # The address learners reach us on, for invite links; empty = derived from the request.
    public_url: str = ""
    # Peers whose X-Forwarded-For we believe (the ingress), comma-separated IPs or networks;
    # "*" lets any client choose its own address (and so its rate-limit bucket).
    forwarded_allow_ips: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The readable part of this process's identity in Redis (heartbeat, membership); every start
    # adds a suffix of its own, so a container restarted in place is a new replica. Empty = the
    # hostname.
    replica_id: str = ""

    redis_url: str | None = None
    # Commands wait at most this long on a dead Redis, so a request fails fast with 503. The
    # workers' blocking stream reads wait 80% of it (app/store/redis.py blocking_read_seconds).
    redis_socket_timeout: float = Field(default=5.0, gt=0)
    redis_max_connections: int = Field(default=6, ge=4, le=10_000)

    auth_secret: SecretStr = SecretStr(DEV_AUTH_SECRET)
    auth_token_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    auth_jwks_url: str | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None

    cors_origins: CsvList = Field(default_factory=list)
    # Strict-Transport-Security max-age, sent on responses served over HTTPS only (as the
    # ingress reports it in X-Forwarded-Proto); 0 sends none.
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0)
    rate_limit_per_minute: int = Field(default=100, ge=1)
    socket_events_per_second: float = Field(default=20.0, gt=0)
    socket_event_burst: int = Field(default=60, ge=1)
    # Open Socket.IO connections, across all replicas: per signed-in user (a few tabs), and
    # per client address (every transport, signed in or not; raise it for a school behind one
    # NAT address).
    socket_connections_per_user: int = Field(default=5, ge=1)
    socket_connections_per_ip: int = Field(default=100, ge=1)
    # Engine.IO keepalive: a PING every interval; a client that has not answered within the
    # timeout is closed (its seat and rooms given back).
    socket_ping_interval_seconds: float = Field(default=20.0, gt=0)
    socket_ping_timeout_seconds: float = Field(default=20.0, gt=0)

    # Replica liveness: a heartbeat key every interval, considered dead after the ttl.
    heartbeat_interval_seconds: float = Field(default=5.0, gt=0)
    heartbeat_ttl_seconds: float = Field(default=15.0, gt=0)

    # SIGTERM: readiness turns 503, clients are told to reconnect elsewhere, then the process
    # exits; drain_seconds is how long we keep serving while the load balancer notices.
    drain_seconds: float = Field(default=2.0, ge=0)
    shutdown_grace_seconds: float = Field(default=20.0, gt=0)

    llm_base_url: str = "https://openrouter.ai/api/v1"
    llm_api_key: SecretStr | None = None
    llm_model: str = "google/gemini-2.5-flash"
    tts_provider: TTSProvider | None = None
    elevenlabs_api_key: SecretStr | None = None
    elevenlabs_base_url: str = "https://api.elevenlabs.io"
    elevenlabs_model: str = "eleven_flash_v2_5"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_prefix: str = "audio/"
    # At start, put the retention rule on the bucket (S3 lifecycle, merged with the bucket's
    # other rules); false when the bucket is managed elsewhere (docs/operations.md).
    s3_apply_lifecycle: bool = True
    media_dir: str = "var/media"
    # Synthesized audio is deleted this many days after it was made (0 = kept for ever): local
    # media by the replicas' sweeper, S3 by the bucket's lifecycle rule.
    media_retention_days: int = Field(default=7, ge=0, le=3650)
    # The built web app (frontend/dist); served at / with history-API fallback when present.
    static_dir: str = "frontend/dist"
    llm_token_budget: int = Field(default=2_000_000, ge=0)
    tts_char_budget: int = Field(default=100_000, ge=0)

    # The tutor's replies (app/tutor, docs/tutor.md).
    provider_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    llm_first_token_timeout_seconds: float = Field(default=20.0, gt=0)
    llm_chunk_timeout_seconds: float = Field(default=15.0, gt=0)
    # Attempts per LLM or TTS call, counting the first; retried (429, 5xx) before the first
    # token or byte only.
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    llm_max_tokens: int = Field(default=600, ge=16)
    # The recent conversation sent with each request is cut to this many (estimated) tokens.
    llm_context_tokens: int = Field(default=3000, ge=100)
    tts_first_byte_timeout_seconds: float = Field(default=10.0, gt=0)
    tts_chunk_timeout_seconds: float = Field(default=10.0, gt=0)
    tts_max_attempts: int = Field(default=3, ge=1, le=10)
    # Voice turns off (text goes on) once this fraction of the monthly TTS budget is used.
    tts_budget_threshold: float = Field(default=0.95, gt=0, le=1)
    storage_timeout_seconds: float = Field(default=10.0, gt=0)
    # Lifetime of the (presigned or signed) audio URLs the tutor hands out.
    media_url_ttl_seconds: int = Field(default=6 * 3600, ge=60)
    tutor_delta_interval_seconds: float = Field(default=0.05, gt=0, le=1)
    # A reply whose replica stopped refreshing it this long is taken over by another replica.
    tutor_claim_timeout_seconds: float = Field(default=10.0, gt=0)
    # Replies one replica runs at once; more jobs wait in the queue for any replica.
    tutor_max_replies: int = Field(default=32, ge=1)

    # Talking with the tutor (app/voice, docs/tutor.md#voice).
    # Tutor peer connections one replica holds at once; 0 turns voice off (text still works).
    voice_max_sessions: int = Field(default=10, ge=0, le=1000)
    # Silence that ends an utterance, and the shortest speech that counts as one.
    voice_silence_seconds: float = Field(default=0.4, gt=0, le=0.5)
    voice_min_speech_seconds: float = Field(default=0.25, ge=0, le=5)
    # A tutor peer that received no audio packet this long is closed.
    voice_idle_timeout_seconds: float = Field(default=60.0, gt=0)
    # Speech to text: offline (pocketsphinx), openai (/v1/audio/transcriptions), deepgram (live).
    stt_provider: STTProvider | None = None
    stt_base_url: str = "https://api.openai.com/v1"
    stt_api_key: SecretStr | None = None
    stt_model: str = "whisper-1"
    deepgram_api_key: SecretStr | None = None
    deepgram_base_url: str = "wss://api.deepgram.com"
    deepgram_model: str = "nova-3"
    stt_timeout_seconds: float = Field(default=10.0, gt=0)
    # Monthly seconds of audio sent to a billed STT vendor; 0 = no limit.
    stt_seconds_budget: int = Field(default=100_000, ge=0)
    # The tutor's memory (docs/tutor.md): a new session with a companion starts with the
    # learner's profile and the summaries of their last few sessions with it, cut to a budget.
    memory_sessions: int = Field(default=3, ge=1, le=20)
    memory_context_tokens: int = Field(default=400, ge=0, le=4000)
    # The most a session summary may be (the model is stopped there, the fields are cut).
    summary_max_tokens: int = Field(default=200, ge=32, le=1000)

    stun_urls: CsvList = Field(default_factory=lambda: ["stun:stun.l.google.com:19302"])
    turn_urls: CsvList = Field(default_factory=list)
    turn_realm: str = "holotutor.local"
    turn_credential_ttl: int = Field(default=3600, ge=60, le=7 * 24 * 3600)

    _split = field_validator("cors_origins", "stun_urls", "turn_urls", mode="before")(_split_csv)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_forwarded_allow_ips(cls, value: str) -> str:
        # uvicorn takes a malformed entry for a host name and silently trusts nobody by it.
        if value.strip() == "*":
            return "*"
        entries = [item.strip() for item in value.split(",") if item.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return ",".join(entries)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        schemes = (
            "redis://",
            "rediss://",
            "redis+sentinel://",
            "redis+cluster://",
            "rediss+cluster://",
            "unix://",
        )
        if not value.startswith(schemes):
            raise ValueError(f"must start with one of {', '.join(schemes)}")
        return value

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            secret = self.auth_secret.get_secret_value()
            if secret == DEV_AUTH_SECRET or len(secret) < 32:
                raise ValueError(
                    "HOLO_AUTH_SECRET must be set to a random value of at least 32 characters "
                    "in production (the development default is refused)"
                )
            if self.redis_url is None:
                raise ValueError("HOLO_REDIS_URL is required in production")
        if self.auth_jwks_url and not (self.auth_issuer and self.auth_audience):
            # Without both, a token the same issuer minted for any other application would do.
            missing = [
                name
                for name, value in (
                    ("HOLO_AUTH_ISSUER", self.auth_issuer),
                    ("HOLO_AUTH_AUDIENCE", self.auth_audience),
                )
                if not value
            ]
            raise ValueError(f"HOLO_AUTH_JWKS_URL needs {' and '.join(missing)} set as well")
        if self.heartbeat_ttl_seconds <= self.heartbeat_interval_seconds:
            raise ValueError(
                "HOLO_HEARTBEAT_TTL_SECONDS must exceed HOLO_HEARTBEAT_INTERVAL_SECONDS"
            )
        return self

    @property
    def media_signing_key(self) -> bytes:
        """Signs local media URLs; derived from the auth secret, so no second secret to manage
        and every replica of one deployment agrees on it."""
        secret = self.auth_secret.get_secret_value().encode()
        return hmac.new(secret, b"holo-tutor media urls v1", hashlib.sha256).digest()

    @property
    def effective_tts_provider(self) -> TTSProvider:
        if self.tts_provider is not None:
            return self.tts_provider
        return TTSProvider.ELEVENLABS if self.elevenlabs_api_key else TTSProvider.ESPEAK

    @property
    def effective_stt_provider(self) -> STTProvider:
        if self.stt_provider is not None:
            return self.stt_provider
        if self.deepgram_api_key:
            return STTProvider.DEEPGRAM
        return STTProvider.OPENAI if self.stt_api_key else STTProvider.OFFLINE


class SettingsError(SystemExit):
    """Raised at start with a message a person can act on, instead of a traceback."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = ["Invalid configuration:"]
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "settings"
            name = f"HOLO_{field.upper()}" if error["loc"] else "settings"
            lines.append(f"  {name}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from None
