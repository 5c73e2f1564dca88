"""skaffold.yaml and k8s/kind-cluster.yaml agree with the Dockerfile, the chart's development
values and each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.chart.rendering import CHART, ROOT, render
from tests.chart.test_dockerfile import BY_NAME

DEV_VALUES = CHART / "ci" / "dev-values.yaml"


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


SKAFFOLD = load(ROOT / "skaffold.yaml")
KIND = load(ROOT / "k8s" / "kind-cluster.yaml")
DEV = load(DEV_VALUES)


def test_skaffold_builds_dockerfile_targets_the_chart_uses() -> None:
    artifacts = {a["image"]: a for a in SKAFFOLD["build"]["artifacts"]}
    assert artifacts["holo-tutor"]["docker"]["target"] == "dev"
    assert artifacts["holo-tutor-operator"]["docker"]["target"] == "operator"
    for artifact in artifacts.values():
        assert artifact["docker"]["target"] in BY_NAME
    (release,) = SKAFFOLD["deploy"]["helm"]["releases"]
    assert (ROOT / release["chartPath"]) == CHART
    assert [ROOT / f for f in release["valuesFiles"]] == [DEV_VALUES]
    templates = release["setValueTemplates"]
    assert templates["image.repository"] == "{{.IMAGE_REPO_holo_tutor}}"
    assert templates["operator.image.repository"] == "{{.IMAGE_REPO_holo_tutor_operator}}"


def test_skaffold_syncs_python_and_frontend_sources_where_the_dev_image_reads_them() -> None:
    (app,) = [a for a in SKAFFOLD["build"]["artifacts"] if a["image"] == "holo-tutor"]
    rules = {r["src"]: r["dest"] for r in app["sync"]["manual"]}
    assert rules["app/**/*.py"] == "/app/src"
    assert rules["frontend/src/**"] == "/app"
    dev_env = " ".join(BY_NAME["dev"].all("ENV"))
    assert "PYTHONPATH=/app/src" in dev_env
    assert any("/app/src/app/" in c for c in BY_NAME["dev"].all("COPY"))


def test_skaffold_port_forwards_the_rendered_services(helm: Path) -> None:
    (release,) = SKAFFOLD["deploy"]["helm"]["releases"]
    rendered = render([DEV_VALUES], release=release["name"])
    services = {
        s["metadata"]["name"]: {p["port"] for p in s["spec"]["ports"]}
        for s in rendered.of_kind("Service")
    }
    for forward in SKAFFOLD["portForward"]:
        assert forward["port"] in services[forward["resourceName"]], forward
        assert forward["namespace"] == release["namespace"]


def test_kind_maps_ingress_and_every_turn_port() -> None:
    (node,) = KIND["nodes"]
    mapped = {(m["hostPort"], m["protocol"]) for m in node["extraPortMappings"]}
    assert {(80, "TCP"), (443, "TCP"), (3478, "UDP"), (3478, "TCP")} <= mapped
    spec = DEV["turnServer"]["spec"]
    assert spec["ports"]["listening"] == 3478
    for port in range(spec["ports"]["relayMin"], spec["ports"]["relayMax"] + 1):
        assert (port, "UDP") in mapped, f"relay port {port}/UDP is not mapped"
    labels = node["kubeadmConfigPatches"][0]
    for key, value in spec["placement"]["nodeSelector"].items():
        assert f"{key}={value}" in labels
    assert "ingress-ready=true" in labels
