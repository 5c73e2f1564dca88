"""k8s/base: generated from the chart, up to date, and `kubectl kustomize` renders objects that
are valid against the official schemas (strict)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.chart.rendering import K8S_VERSIONS, ROOT

GENERATOR = ROOT / "scripts" / "gen-kustomize-base"


@pytest.fixture(scope="module")
def kustomized(kubectl: Path) -> list[dict[str, object]]:
    proc = subprocess.run(
        [str(kubectl), "kustomize", str(ROOT / "k8s" / "base")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def test_base_is_generated_from_the_chart_and_up_to_date(helm: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_kustomize_renders_valid_objects(kustomized: list[dict[str, object]], version: str) -> None:
    kinds = {str(obj["kind"]) for obj in kustomized}
    assert {"CustomResourceDefinition", "Deployment", "StatefulSet", "NetworkPolicy"} <= kinds
    for obj in kustomized:
        kubernetes_validate.validate(obj, version, strict=True)


def test_everything_lands_in_one_namespace(kustomized: list[dict[str, object]]) -> None:
    for obj in kustomized:
        meta = obj["metadata"]
        assert isinstance(meta, dict)
        if obj["kind"] != "CustomResourceDefinition":
            assert meta["namespace"] == "holo-tutor", meta["name"]
        assert "helm.sh/chart" not in meta.get("labels", {})
