"""The companion catalogue: loaded once from ``companions.yaml``, filtered in memory."""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Level = Literal["primary", "beginner", "secondary", "intermediate", "university", "advanced"]


class Companion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9-]{1,64}$")
    name: str
    subject: str
    level: Level
    languages: list[str] = Field(min_length=1)
    tagline: str
    persona: str
    # TTS engine name -> its voice for this companion (see TTS.voice_for).
    voices: dict[str, str] = Field(default_factory=dict)
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")

    @property
    def avatar_url(self) -> str:
        return f"/api/companions/{self.id}/avatar.svg"


class CompanionFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, max_length=64)
    level: str | None = Field(default=None, max_length=32)
    language: str | None = Field(default=None, max_length=16)
    q: str | None = Field(default=None, max_length=100)


class Catalogue:
    def __init__(self, companions: list[Companion]) -> None:
        self._by_id = {c.id: c for c in companions}
        if len(self._by_id) != len(companions):
            raise ValueError("companion ids must be unique")
        digest = hashlib.sha256("".join(c.model_dump_json() for c in companions).encode())
        self.etag = f'"{digest.hexdigest()[:16]}"'

    @classmethod
    def load(cls) -> Catalogue:
        text = resources.files("app").joinpath("companions.yaml").read_text(encoding="utf-8")
        return cls(TypeAdapter(list[Companion]).validate_python(yaml.safe_load(text)))

    def companions(self) -> list[Companion]:
        return list(self._by_id.values())

    def get(self, companion_id: str) -> Companion | None:
        return self._by_id.get(companion_id)

    def search(self, f: CompanionFilter) -> list[Companion]:
        def matches(c: Companion) -> bool:
            if f.subject and c.subject.lower() != f.subject.lower():
                return False
            if f.level and c.level != f.level.lower():
                return False
            if f.language and f.language.lower() not in c.languages:
                return False
            if f.q:
                haystack = " ".join((c.name, c.subject, c.tagline, c.level)).lower()
                return all(word in haystack for word in f.q.lower().split())
            return True

        return [c for c in self._by_id.values() if matches(c)]
