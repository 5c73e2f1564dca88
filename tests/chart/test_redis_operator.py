"""Redis is reachable only by the app, the operator and coturn; the operator has least-privilege
RBAC; the kustomize base ships the chart's CRD."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chart.rendering import CHART, ROOT, RenderError, render

DEFAULT = CHART / "ci" / "default-values.yaml"
FULL = CHART / "ci" / "full-values.yaml"
COMPONENT = "app.kubernetes.io/component"


def test_the_kustomize_base_ships_the_charts_crd() -> None:
    # The chart's crds/ is the one source (as cert-manager's); the base's copy is generated.
    ours = (CHART / "crds" / "turnserver.yaml").read_text()
    theirs = (ROOT / "k8s" / "base" / "turnserver-crd.yaml").read_text()
    assert ours == theirs, "run scripts/gen-kustomize-base"


def test_redis_network_policy_admits_only_app_operator_and_coturn(helm: Path) -> None:
    rendered = render([DEFAULT])
    policy = rendered.one("NetworkPolicy")
    redis = rendered.one("StatefulSet", "redis")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= (
        redis["spec"]["template"]["metadata"]["labels"].items()
    )
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    redis_rule, metrics_rule = policy["spec"]["ingress"]
    assert redis_rule["ports"] == [{"port": "redis", "protocol": "TCP"}]
    admitted = [peer["podSelector"]["matchLabels"] for peer in redis_rule["from"]]
    assert [peer.get(COMPONENT) for peer in admitted[:2]] == ["app", "operator"]
    assert admitted[2] == {"app.kubernetes.io/name": "coturn"}  # operator/holo_operator/manifests
    assert metrics_rule == {"ports": [{"port": "metrics", "protocol": "TCP"}]}
    # Every pod the policy names exists with those labels.
    for component in ("app", "operator"):
        labels = rendered.one("Deployment", component)["spec"]["template"]["metadata"]["labels"]
        selector = next(s for s in admitted if s.get(COMPONENT) == component)
        assert selector.items() <= labels.items()


def test_redis_is_bounded_and_never_evicts(helm: Path) -> None:
    conf = render([DEFAULT]).one("ConfigMap", "redis")["data"]["redis.conf"]
    assert "maxmemory 200mb" in conf
    assert "maxmemory-policy noeviction" in conf  # coturn's secret set must not be evicted
    assert 'save ""' in conf


def test_operator_rbac_is_namespaced_and_minimal(helm: Path) -> None:
    rendered = render([FULL])
    assert not rendered.of_kind("ClusterRole") and not rendered.of_kind("ClusterRoleBinding")
    role = rendered.one("Role")
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
        assert "escalate" not in rule["verbs"] and "bind" not in rule["verbs"]
    granted = {
        (g, r): set(rule["verbs"])
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    # The operator watches TurnServers only; it lists no Secrets and reaches nothing cluster-wide.
    assert {"list", "watch"} <= granted[("holotutor.io", "turnservers")]
    assert "list" not in granted[("", "secrets")] and "watch" not in granted[("", "secrets")]
    binding = rendered.one("RoleBinding")
    sa = rendered.one("ServiceAccount", "operator")
    assert binding["subjects"][0]["name"] == sa["metadata"]["name"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_operator_runs_one_instance_with_its_health_and_metrics_ports(helm: Path) -> None:
    rendered = render([FULL])
    deploy = rendered.one("Deployment", "operator")
    assert deploy["spec"]["strategy"]["type"] == "Recreate"
    (c,) = deploy["spec"]["template"]["spec"]["containers"]
    assert c["args"] == ["python", "-m", "holo_operator"]
    env = {e["name"]: e for e in c["env"]}
    assert env["HOLO_OPERATOR_LIVENESS"]["value"] == "http://0.0.0.0:8080/healthz"
    assert env["HOLO_OPERATOR_METRICS_PORT"]["value"] == "9090"
    assert env["HOLO_OPERATOR_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.namespace"
    )
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}


def test_turnserver_gets_the_charts_redis(helm: Path) -> None:
    rendered = render([FULL])
    turn = rendered.one("TurnServer")
    ref = turn["spec"]["redis"]["secretRef"]
    (secret,) = rendered.of_kind("Secret")
    assert ref == {"name": secret["metadata"]["name"], "key": "url"}
    redis_service = rendered.one("StatefulSet", "redis")["metadata"]["name"]  # Service too
    assert redis_service in {s["metadata"]["name"] for s in rendered.of_kind("Service")}
    assert secret["stringData"]["url"] == f"redis://{redis_service}:6379/0"


def test_turnserver_with_external_redis_uses_its_secret(helm: Path) -> None:
    rendered = render(
        [FULL], ["redis.enabled=false", "externalRedis.existingSecret=redis-credentials"]
    )
    assert rendered.one("TurnServer")["spec"]["redis"]["secretRef"] == {
        "name": "redis-credentials",
        "key": "redis-url",
    }
    assert not rendered.of_kind("Secret")


def test_turnserver_must_match_the_apps_realm_and_outlive_its_credentials(helm: Path) -> None:
    with pytest.raises(RenderError, match=r"must equal config\.turnRealm"):
        render([FULL], ["config.turnRealm=other.example"])
    with pytest.raises(RenderError, match=r"must be at least config\.turnCredentialTtl"):
        render([FULL], ["config.turnCredentialTtl=7200"])
