"""values.yaml is documented, its schema is generated and closed, and `config` maps one to one
onto the app's Settings (HOLO_*)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import Settings
from tests.chart.rendering import CHART, ROOT, RenderError, render

GENERATOR = ROOT / "scripts" / "gen-values-schema"
DEFAULT = CHART / "ci" / "default-values.yaml"
# Settings the chart sets itself instead of through `config`.
SET_BY_CHART = {"host", "port", "replica_id", "redis_url"}
FROM_SECRETS = {
    "auth_secret",
    "llm_api_key",
    "elevenlabs_api_key",
    "stt_api_key",
    "deepgram_api_key",
}
# Defaults the chart chooses differently from the app's, and why.
CHART_DEFAULTS_DIFFER = {
    "env": "secure by default: production",
    "media_dir": "an absolute path on an emptyDir (the root filesystem is read-only)",
    "static_dir": "the absolute path of the built frontend inside the image",
    "forwarded_allow_ips": "the ingress controller is the peer in a cluster",
}


def values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return loaded


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def test_schema_is_generated_from_values_and_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_every_map_in_the_schema_is_closed() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())

    def walk(node: dict[str, Any], where: str) -> None:
        if "properties" in node:
            assert node.get("additionalProperties") is False, f"{where} accepts unknown keys"
            for key, child in node["properties"].items():
                walk(child, f"{where}.{key}")

    walk(schema, "values")
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    "override",
    [
        "replicaCont=3",  # a typo at the top level
        "config.llmApiKey=sk-should-never-be-a-value",  # a secret where a user might try
        "ingress.affinity.cookeName=x",  # a typo deep down
        "config.env=staging",  # not in the enum
    ],
)
def test_schema_rejects_unknown_keys_and_bad_values(helm: Path, override: str) -> None:
    with pytest.raises(RenderError, match="schema"):
        render([DEFAULT], [override])


def test_config_maps_one_to_one_onto_settings() -> None:
    config_keys = {snake(key) for key in values()["config"]}
    fields = set(Settings.model_fields)
    missing = fields - config_keys - SET_BY_CHART - FROM_SECRETS
    unknown = config_keys - fields
    assert not missing, (
        f"Settings without a chart value (add them to config in values.yaml): {missing}"
    )
    assert not unknown, f"config values the app does not read: {unknown}"
    assert not (config_keys & (SET_BY_CHART | FROM_SECRETS))


def test_config_defaults_are_the_apps_defaults() -> None:
    for key, value in values()["config"].items():
        name = snake(key)
        if name in CHART_DEFAULTS_DIFFER:
            continue
        default = Settings.model_fields[name].get_default(call_default_factory=True)
        default = getattr(default, "value", default)  # enums
        assert value == default, f"config.{key}: chart {value!r}, app {default!r}"


def test_config_values_render_as_holo_environment(helm: Path) -> None:
    rendered = render([DEFAULT], ["config.corsOrigins={https://a.example,https://b.example}"])
    data = rendered.one("ConfigMap", "app")["data"]
    assert data["HOLO_CORS_ORIGINS"] == "https://a.example,https://b.example"
    assert data["HOLO_LLM_TOKEN_BUDGET"] == "2000000"  # not 2e+06
    assert data["HOLO_S3_REGION"] == "us-east-1"
    assert data["HOLO_HOST"] == "0.0.0.0"
    assert "HOLO_AUTH_JWKS_URL" not in data  # null keeps the app's default
    # The rendered environment is accepted by the app's own Settings.
    env = dict(data)
    env["HOLO_AUTH_SECRET"] = "x" * 40
    env["HOLO_REDIS_URL"] = "redis://redis:6379/0"
    settings = Settings(**{k.removeprefix("HOLO_").lower(): v for k, v in env.items()})
    assert settings.turn_credential_ttl == 3600


def test_values_use_one_comment_dialect() -> None:
    # After the file header, every comment is a `# --` description or continues one.
    lines = (CHART / "values.yaml").read_text().splitlines()
    first_key = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    in_description = False
    for number, line in enumerate(lines[first_key:], start=first_key + 1):
        stripped = line.strip()
        if stripped.startswith("# --"):
            in_description = True
        elif stripped.startswith("#"):
            assert in_description, f"values.yaml:{number}: a comment outside a `# --` description"
        else:
            in_description = False
