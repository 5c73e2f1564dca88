"""Settings: read from HOLO_* only, readable errors at start, production refuses dev secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.config import DEV_AUTH_SECRET, Settings, TTSProvider, load_settings
from tests.servers import ROOT


def test_defaults_need_nothing() -> None:
    s = Settings()
    assert s.redis_url is None and s.port == 8000
    assert s.auth_secret.get_secret_value() == DEV_AUTH_SECRET
    assert s.effective_tts_provider is TTSProvider.ESPEAK


def test_lists_come_from_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOLO_TURN_URLS", "turn:a:3478?transport=udp, turns:b:5349")
    monkeypatch.setenv("HOLO_CORS_ORIGINS", "https://a.example")
    s = Settings()
    assert s.turn_urls == ["turn:a:3478?transport=udp", "turns:b:5349"]
    assert s.cors_origins == ["https://a.example"]


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"HOLO_PORT": "eighty"}, "HOLO_PORT"),
        ({"HOLO_REDIS_URL": "http://localhost"}, "HOLO_REDIS_URL"),
        ({"HOLO_RATE_LIMIT_PER_MINUTE": "0"}, "HOLO_RATE_LIMIT_PER_MINUTE"),
        ({"HOLO_ENV": "staging"}, "HOLO_ENV"),
        # A typo uvicorn would take for a host name, trusting no proxy at all.
        ({"HOLO_FORWARDED_ALLOW_IPS": "10.0.0.0/8,10.0.0/16"}, "HOLO_FORWARDED_ALLOW_IPS"),
        ({"HOLO_FORWARDED_ALLOW_IPS": "10.1.2.3/8"}, "HOLO_FORWARDED_ALLOW_IPS"),
        ({"HOLO_ENV": "production", "HOLO_REDIS_URL": "redis://r:6379/0"}, "HOLO_AUTH_SECRET"),
        ({"HOLO_ENV": "production", "HOLO_AUTH_SECRET": "x" * 40}, "HOLO_REDIS_URL"),
        # An external key set without an issuer and an audience would accept tokens the same
        # issuer minted for any other application.
        ({"HOLO_AUTH_JWKS_URL": "https://idp.test/jwks"}, "HOLO_AUTH_ISSUER"),
        (
            {"HOLO_AUTH_JWKS_URL": "https://idp.test/jwks", "HOLO_AUTH_ISSUER": "https://idp/"},
            "HOLO_AUTH_AUDIENCE",
        ),
    ],
)
def test_bad_settings_stop_the_start_with_a_readable_message(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], needle: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as caught:
        load_settings()
    assert needle in str(caught.value)


def test_production_with_real_secrets_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOLO_ENV", "production")
    monkeypatch.setenv("HOLO_AUTH_SECRET", "s" * 48)
    monkeypatch.setenv("HOLO_REDIS_URL", "redis+sentinel://s1:26379,s2:26379/0/mymaster")
    assert load_settings().env.value == "production"


def test_the_command_prints_the_problem_not_a_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOLO_")}
    env.update({"HOLO_ENV": "production", "HOLO_REDIS_URL": "redis://r:6379/0"})
    result = subprocess.run(
        [sys.executable, "-m", "app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert "Invalid configuration" in result.stderr and "HOLO_AUTH_SECRET" in result.stderr
    assert "Traceback" not in result.stderr
    assert "x" * 40 not in result.stderr
