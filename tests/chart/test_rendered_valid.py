"""Every rendered object is valid: built-in kinds against the official Kubernetes schemas in
strict mode (unknown fields rejected), TurnServers against our CRD's openAPIV3Schema (also
strict), and
ServiceMonitor / PrometheusRule / HTTPRoute against the upstream CRD schemas compiled into the
@kubernetes-models validators (those check types, enums, patterns and required fields; they do not
reject unknown fields, which CRD schemas leave open)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.chart.rendering import CHART, K8S_VERSIONS, ROOT, Obj, Rendered

CRD = yaml.safe_load((CHART / "crds" / "turnserver.yaml").read_text())
UPSTREAM_CRS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
}
VALIDATOR = Path(__file__).with_name("validate_crs.mjs")


def strict(node: Any) -> Any:
    """The schema as the API server's strict field validation applies it: an object with
    `properties` and no `additionalProperties` or preserve-unknown-fields rejects other keys."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict(value) for key, value in node.items()}
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def turnserver_schema() -> dict[str, Any]:
    version = next(v for v in CRD["spec"]["versions"] if v["name"] == "v1alpha1")
    schema: dict[str, Any] = strict(version["schema"]["openAPIV3Schema"])
    # metadata is the ObjectMeta the API server checks itself.
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def validate_turnserver(obj: Obj) -> None:
    assert obj["apiVersion"] == f"{CRD['spec']['group']}/v1alpha1"
    jsonschema.validate(obj, turnserver_schema())


def validate_upstream(objects: list[Obj], node_modules: Path) -> list[str | None]:
    proc = subprocess.run(
        ["node", str(VALIDATOR), str(node_modules)],
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results: list[str | None] = json.loads(proc.stdout)
    return results


def is_builtin(obj: Obj) -> bool:
    group = obj["apiVersion"].rpartition("/")[0]
    return "." not in group or (group.endswith(".k8s.io") and group != "gateway.networking.k8s.io")


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_builtin_objects_are_valid_in_strict_mode(scenario: Rendered, version: str) -> None:
    builtin = [obj for obj in scenario.objects if is_builtin(obj)]
    assert builtin
    for obj in builtin:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            name = f"{obj['kind']}/{obj['metadata']['name']}"
            pytest.fail(f"{name} is invalid for Kubernetes {version}: {exc.message}")


def test_custom_resources_are_valid_against_their_crds(
    scenario: Rendered, node_modules: Path
) -> None:
    custom = [obj for obj in scenario.objects if not is_builtin(obj)]
    upstream = [obj for obj in custom if (obj["apiVersion"], obj["kind"]) in UPSTREAM_CRS]
    ours = [obj for obj in custom if obj["kind"] == "TurnServer"]
    others = [obj for obj in custom if obj not in upstream and obj not in ours]
    assert not others, f"custom resources with no schema to check: {[o['kind'] for o in others]}"
    for obj in ours:
        validate_turnserver(obj)
    for obj, error in zip(upstream, validate_upstream(upstream, node_modules), strict=True):
        assert error is None, f"{obj['kind']}/{obj['metadata']['name']}: {error}"


def test_the_cr_validators_do_reject_bad_objects(node_modules: Path) -> None:
    bad_route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "x"},
        "spec": {"rules": [{"backendRefs": [{"name": "svc", "port": "http"}]}]},
    }
    bad_rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "x"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up", "for": "2 m"}]}]},
    }
    assert all(validate_upstream([bad_route, bad_rule], node_modules))
    with pytest.raises(jsonschema.ValidationError):
        validate_turnserver(
            {
                "apiVersion": "holotutor.io/v1alpha1",
                "kind": "TurnServer",
                "metadata": {"name": "x"},
                "spec": {"realm": "r", "placement": {"mode": "Somewhere"}},
            }
        )
    with pytest.raises(jsonschema.ValidationError, match="rotationInterval"):
        validate_turnserver(
            {
                "apiVersion": "holotutor.io/v1alpha1",
                "kind": "TurnServer",
                "metadata": {"name": "x"},
                "spec": {
                    "realm": "r",
                    "redis": {"secretRef": {"name": "s"}},
                    "rotationInterval": 1,
                },
            }
        )


def test_the_example_turnserver_is_valid() -> None:
    example = yaml.safe_load((ROOT / "k8s" / "examples" / "turnserver.yaml").read_text())
    validate_turnserver(example)
