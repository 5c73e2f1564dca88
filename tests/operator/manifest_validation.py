"""Check objects the way a real API server would: built-in kinds against the official Kubernetes
OpenAPI schemas (kubernetes-validate, strict: unknown fields are errors), custom resources
against the CRD's own openAPIV3Schema, also strict (where a real server would silently prune)."""

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
# The one source of the CRD: the chart's crds/ (k8s/base carries a generated copy).
CRD_PATH = ROOT / "charts" / "holo-tutor" / "crds" / "turnserver.yaml"
KUBERNETES_VERSION = "1.30.0"


def load_crd() -> dict[str, Any]:
    crd: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text())
    return crd


def strict(schema: Any) -> Any:
    """Turn a structural schema into one that rejects fields it does not declare."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _crd_validators() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    crd = load_crd()
    group = crd["spec"]["group"]
    validators = {}
    for version in crd["spec"]["versions"]:
        schema = strict(version["schema"]["openAPIV3Schema"])
        validators[(f"{group}/{version['name']}", crd["spec"]["names"]["kind"])] = (
            jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
        )
    return validators


_CUSTOM = _crd_validators()


def validate(obj: dict[str, Any]) -> None:
    """Raise if `obj` would be refused (or silently changed) by a real API server."""
    custom = _CUSTOM.get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if custom is not None:
        custom.validate(obj)
        return
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
