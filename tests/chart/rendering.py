"""Rendering the chart for the tests: paths, the pinned tools and a cached `helm template`.

helm and kubectl come from scripts/install-k8s-tools (into .tools/bin); a missing binary fails
the test with that instruction instead of skipping it, so CI cannot silently test nothing.
"""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "holo-tutor"
TOOLS = ROOT / ".tools"
HELM = TOOLS / "bin" / "helm"
KUBECTL = TOOLS / "bin" / "kubectl"
NODE_MODULES = TOOLS / "npm" / "node_modules"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
# The chart's lowest supported Kubernetes (Chart.yaml kubeVersion) and the newest schemas.
K8S_VERSIONS = ("1.29", "1.37")
RELEASE = "holo-tutor"
NAMESPACE = "holo"
INSTALL_HINT = "run scripts/install-k8s-tools (the Makefile does before `make test`)"

Obj = dict[str, Any]


def require_tool(path: Path) -> Path:
    if not (path.is_file() and path.stat().st_mode & 0o111):
        pytest.fail(f"{path.relative_to(ROOT)} is missing: {INSTALL_HINT}", pytrace=False)
    return path


class RenderError(Exception):
    """`helm template` refused the values; the message is helm's stderr."""


@dataclass(frozen=True)
class Rendered:
    text: str
    objects: list[Obj]

    def of_kind(self, kind: str) -> list[Obj]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def one(self, kind: str, component: str | None = None) -> Obj:
        found = [
            obj
            for obj in self.of_kind(kind)
            if component is None
            or obj["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
        ]
        assert len(found) == 1, f"expected one {kind} ({component}), got {len(found)}"
        return found[0]


@functools.cache
def _render(values_files: tuple[str, ...], set_values: tuple[str, ...], release: str) -> Rendered:
    args = [str(require_tool(HELM)), "template", release, str(CHART), "-n", NAMESPACE]
    args += ["--include-crds"]
    for path in values_files:
        args += ["-f", path]
    for item in set_values:
        args += ["--set", item]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise RenderError(proc.stderr.strip())
    objects = [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
    return Rendered(text=proc.stdout, objects=objects)


def render(
    values_files: Iterable[Path | str] = (),
    set_values: Iterable[str] = (),
    release: str = RELEASE,
) -> Rendered:
    """`helm template` with the given values files and `--set` items (cached per arguments)."""
    return _render(tuple(str(p) for p in values_files), tuple(set_values), release)


def containers(pod_spec: Obj) -> Iterator[Obj]:
    yield from pod_spec.get("initContainers", [])
    yield from pod_spec["containers"]


def pod_specs(rendered: Rendered) -> Iterator[tuple[Obj, Obj]]:
    """(object, pod spec) for every workload and bare Pod."""
    for obj in rendered.objects:
        kind = obj["kind"]
        if kind in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            yield obj, obj["spec"]["template"]["spec"]
        elif kind == "Pod":
            yield obj, obj["spec"]


def to_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)
