"""No secret value is ever rendered: secrets come only from existing Secrets, and the places a
user might paste one are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chart.rendering import (
    CHART,
    CI_VALUES,
    Rendered,
    RenderError,
    containers,
    pod_specs,
    render,
)

DEFAULT = CHART / "ci" / "default-values.yaml"
FAKE = "FAKE-SECRET-7f3c9a1e"
SECRET_ENV = {
    "HOLO_AUTH_SECRET",
    "HOLO_LLM_API_KEY",
    "HOLO_ELEVENLABS_API_KEY",
    "HOLO_STT_API_KEY",
    "HOLO_DEEPGRAM_API_KEY",
}


def env_of(rendered: Rendered, component: str) -> dict[str, dict[str, object]]:
    for obj, spec in pod_specs(rendered):
        if obj["metadata"]["labels"]["app.kubernetes.io/component"] == component:
            (c,) = [c for c in containers(spec) if c["name"] == component]
            return {e["name"]: e for e in c.get("env", [])}
    raise AssertionError(component)


def test_secret_settings_come_from_the_existing_secret(helm: Path) -> None:
    env = env_of(render([DEFAULT]), "app")
    for name in SECRET_ENV:
        ref = env[name]["valueFrom"]["secretKeyRef"]  # type: ignore[index]
        assert ref["name"] == "holo-tutor-secrets", name
        assert "value" not in env[name]
    assert env["HOLO_AUTH_SECRET"]["valueFrom"]["secretKeyRef"].get("optional") is None  # type: ignore[index]


def test_redis_url_with_a_password_comes_from_a_secret(helm: Path) -> None:
    rendered = render(
        [DEFAULT], ["redis.enabled=false", "externalRedis.existingSecret=redis-credentials"]
    )
    ref = env_of(rendered, "app")["HOLO_REDIS_URL"]["valueFrom"]["secretKeyRef"]  # type: ignore[index]
    assert ref == {"name": "redis-credentials", "key": "redis-url"}
    assert not rendered.of_kind("StatefulSet")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (f"externalRedis.url=redis://:{FAKE}@redis.example:6379/0", "must not contain credentials"),
        (f"extraEnv[0].name=HOLO_LLM_API_KEY,extraEnv[0].value={FAKE}", "secret setting"),
        (f"extraEnv[0].name=HOLO_AUTH_SECRET,extraEnv[0].value={FAKE}", "secret setting"),
        (f"config.authSecret={FAKE}", "schema"),
        (f"secrets.authSecret={FAKE}", "schema"),
        (f"config.elevenlabsApiKey={FAKE}", "schema"),
    ],
)
def test_places_a_user_might_paste_a_secret_are_refused(
    helm: Path, override: str, message: str
) -> None:
    with pytest.raises(RenderError, match=message) as refused:
        render([DEFAULT], [override])
    assert FAKE not in str(refused.value).replace(override, "")


@pytest.mark.parametrize("path", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_no_secret_value_in_any_scenario(helm: Path, path: Path) -> None:
    # Fill every secret-looking place the chart accepts with the fake value: only names of
    # Secrets and keys may appear, never the value.
    rendered = render([path], ["extraEnv[0].name=UNRELATED,extraEnv[0].value=plain"])
    assert FAKE not in rendered.text
    for secret in rendered.of_kind("Secret"):
        # The only Secret the chart writes: the Redis URL for coturn, when it has no password.
        assert set(secret["stringData"]) == {"url"}
        assert "@" not in secret["stringData"]["url"]
    for _obj, spec in pod_specs(rendered):
        for c in containers(spec):
            for env in c.get("env", []):
                if env["name"] in SECRET_ENV or env["name"] == "HOLO_REDIS_URL":
                    assert "@" not in str(env.get("value", "")), env


def test_production_without_a_secret_is_refused(helm: Path) -> None:
    with pytest.raises(RenderError, match="existingSecret is required"):
        render([], ["config.env=production"])
    development = render([], ["config.env=development"])
    assert "HOLO_AUTH_SECRET" not in env_of(development, "app")
