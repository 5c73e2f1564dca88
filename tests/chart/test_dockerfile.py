"""The Dockerfile, checked statically (no Docker engine runs here): multi-stage, the frontend
built with Node, a slim Python runtime from a virtualenv stage, non-root, no compilers or Node in
the shipped targets, a HEALTHCHECK, pinned base images, an `operator` target, and each image
built from its own inputs only."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

import pytest

from tests.chart.rendering import ROOT

DOCKERFILE = ROOT / "Dockerfile"
BUILD_TOOLS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cmake|nodejs|npm)\b")


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse() -> tuple[dict[str, str], list[Stage]]:
    text = DOCKERFILE.read_text()
    text = re.sub(r"\\\n", " ", text)  # line continuations
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            base = words[0]
            for name, value in args.items():
                base = base.replace("${" + name + "}", value)
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name=name, base=base))
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


ARGS, STAGES = parse()
BY_NAME = {stage.name: stage for stage in STAGES}


def chain(name: str) -> list[Stage]:
    """The stage and the stages it is built FROM, nearest first."""
    out = [BY_NAME[name]]
    while out[-1].base in BY_NAME:
        out.append(BY_NAME[out[-1].base])
    return out


def test_multi_stage_with_the_app_as_default_target() -> None:
    assert len(STAGES) >= 4
    assert STAGES[-1].name == "app", "the last stage is what `docker build .` produces"
    assert {"frontend", "venv", "operator", "app"} <= set(BY_NAME)


def test_frontend_is_built_with_node_and_copied_into_the_app() -> None:
    frontend = BY_NAME["frontend"]
    assert "node:" in frontend.base
    runs = " ".join(frontend.all("RUN"))
    assert "npm ci" in runs and "npm run build" in runs
    copies = BY_NAME["app"].all("COPY")
    assert any("--from=frontend" in c and "/dist" in c for c in copies)


def test_python_comes_from_a_virtualenv_stage_with_our_wheel() -> None:
    runs = " ".join(run for stage in chain("venv") for run in stage.all("RUN"))
    assert "python -m venv /opt/venv" in runs and "pip wheel" in runs
    assert any(c.startswith("--from=venv ") for c in BY_NAME["app"].all("COPY"))
    assert any(c.startswith("--from=venv-operator ") for c in BY_NAME["operator"].all("COPY"))


@pytest.mark.parametrize("target", ["app", "operator"])
def test_shipped_targets_are_slim_non_root_and_without_build_tools(target: str) -> None:
    stages = chain(target)
    assert "-slim" in stages[-1].base, stages[-1].base
    users = [u for s in stages for u in s.all("USER")]
    assert users, f"{target}: no USER"
    user = users[0].split(":")[0]  # the nearest stage's USER wins
    assert user not in {"root", "0"}, f"{target} runs as {user}"
    assert user.isdigit(), "numeric USER, so runAsNonRoot can verify it"
    for stage in stages:
        for run in stage.all("RUN"):
            assert not BUILD_TOOLS.search(run), f"{target}: build tool in `{run}`"
        for copy in stage.all("COPY"):
            assert "/usr/local/bin/node" not in copy, f"{target}: Node in the image"


def context_inputs(target: str) -> set[str]:
    """What the target copies from the build context, through every stage it is built from or
    copies from (as skaffold works out what to watch for a target)."""
    inputs: set[str] = set()
    seen: set[str] = set()
    todo = [target]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for stage in chain(name):
            for args in stage.all("COPY"):
                words = [w for w in args.split() if not w.startswith("--chown")]
                source = next((w for w in words if w.startswith("--from=")), None)
                if source is not None:
                    if source.removeprefix("--from=") in BY_NAME:
                        todo.append(source.removeprefix("--from="))
                    continue
                inputs.update(words[:-1])
    return inputs


def test_each_image_is_built_from_its_own_inputs_only() -> None:
    # skaffold dev rebuilds an image when one of its inputs changes: an app or web app edit
    # must not rebuild the operator, nor an operator edit the app.
    operator = context_inputs("operator")
    assert operator == {"pyproject.toml", "README.md", "operator/"}, operator
    for target in ("app", "dev"):
        inputs = context_inputs(target)
        assert {"app/", "operator/holo_turn/"} <= inputs, inputs
        assert "operator/" not in inputs, f"{target} copies the whole operator"


@pytest.mark.parametrize("target", ["app", "operator"])
def test_shipped_targets_have_a_healthcheck_and_a_command(target: str) -> None:
    stage = BY_NAME[target]
    (healthcheck,) = stage.all("HEALTHCHECK")
    assert "/healthz" in healthcheck
    (cmd,) = stage.all("CMD")
    assert cmd.startswith("[")
    expected = ["holo-tutor"] if target == "app" else ["python", "-m", "holo_operator"]
    assert shlex.split(cmd.strip("[]").replace(",", " ")) == expected


def test_base_images_are_pinned() -> None:
    for name, image in ARGS.items():
        if name.endswith("_IMAGE"):
            tag = image.rpartition(":")[2]
            assert re.fullmatch(r"\d+\.\d+\.\d+[-\w.]*", tag), f"{name}={image} is not pinned"


def test_app_listens_on_all_interfaces_in_the_container() -> None:
    env = " ".join(BY_NAME["app"].all("ENV"))
    assert "HOLO_HOST=0.0.0.0" in env and "HOLO_PORT=8000" in env


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv/", ".tools/", "**/node_modules", "**/.git", "tests/", "frontend/dist/"):
        assert entry in ignored, entry


def test_the_app_image_carries_the_offline_voice() -> None:
    # With no ElevenLabs key the tutor speaks through espeak-ng (app/providers/tts/espeak.py).
    runs = " ".join(run for stage in chain("app") for run in stage.all("RUN"))
    assert re.search(r"apt-get install[^&]*\bespeak-ng\b", runs), runs
    assert "rm -rf /var/lib/apt/lists" in runs
