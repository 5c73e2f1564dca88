"""A ProviderObserver that keeps what it was told, for assertions."""

from __future__ import annotations

from app.providers.errors import ProviderError


class RecordingObserver:
    def __init__(self) -> None:
        self.first_tokens: list[tuple[str, str, float]] = []
        self.first_bytes: list[tuple[str, float]] = []
        self.retries: list[tuple[int, float, ProviderError]] = []

    def first_token(self, *, provider: str, model: str, seconds: float) -> None:
        self.first_tokens.append((provider, model, seconds))

    def first_byte(self, *, provider: str, seconds: float) -> None:
        self.first_bytes.append((provider, seconds))

    def retrying(self, *, provider: str, attempt: int, delay: float, error: ProviderError) -> None:
        self.retries.append((attempt, delay, error))
