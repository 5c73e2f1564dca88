from typing import Any

import pytest
import yaml
from holo_operator.manifests import Owner, children, stale_workload_kind
from holo_operator.spec import SpecError, parse_spec
from holo_operator.turnserver_conf import redis_userdb, render_turnserver_conf
from manifest_validation import CRD_PATH, ROOT, validate

OWNER = Owner(name="turn", namespace="holo", uid="1b1c4f0e-6a57-4b6e-9d41-4d5b2f3a9c11")
USERDB = "ip=redis dbname=0 port=6379 password=pw connect_timeout=30"

LB_SPEC: dict[str, Any] = {
    "realm": "turn.example.org",
    "redis": {"secretRef": {"name": "holo-redis"}},
    "placement": {"mode": "LoadBalancer", "serviceAnnotations": {"lb.example/kind": "nlb"}},
    "ports": {"listening": 3478, "relayMin": 50000, "relayMax": 50019},
    "externalAddress": {"source": "LoadBalancer"},
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
}
HOST_SPEC: dict[str, Any] = {
    "realm": "turn.example.org",
    "redis": {"secretRef": {"name": "holo-redis", "key": "url"}},
    "placement": {"mode": "HostNetwork", "nodeSelector": {"holotutor.io/turn": "true"}},
    "externalAddress": {"source": "NodeIP"},
}


def by_kind(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in objs}


@pytest.mark.parametrize("raw", [LB_SPEC, HOST_SPEC], ids=["loadbalancer", "hostnetwork"])
def test_every_child_is_valid_for_kubernetes_and_owned(raw: dict[str, Any]) -> None:
    objs = children(parse_spec(raw), OWNER, USERDB, external_address="203.0.113.7")

    for obj in objs:
        validate(obj)  # strict: unknown fields fail
        assert obj["metadata"]["ownerReferences"][0]["uid"] == OWNER.uid
        assert obj["metadata"]["namespace"] == "holo"


def test_loadbalancer_placement_is_one_deployment_behind_a_balancer_with_every_relay_port() -> None:
    objs = by_kind(children(parse_spec(LB_SPEC), OWNER, USERDB, "203.0.113.7"))

    deployment, svc = objs["Deployment"], objs["Service"]
    assert deployment["spec"]["replicas"] == 1
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["metadata"]["annotations"] == {"lb.example/kind": "nlb"}
    relay = [p["port"] for p in svc["spec"]["ports"] if p["name"].startswith("relay-")]
    assert relay == list(range(50000, 50020))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "--external-ip=203.0.113.7" in container["args"]
    assert container["resources"]["limits"] == {"memory": "256Mi"}
    assert "hostNetwork" not in deployment["spec"]["template"]["spec"]
    assert stale_workload_kind(parse_spec(LB_SPEC)) == "DaemonSet"


def test_hostnetwork_placement_is_a_daemonset_advertising_the_node_address() -> None:
    objs = by_kind(children(parse_spec(HOST_SPEC), OWNER, USERDB, None))

    pod = objs["DaemonSet"]["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    assert pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert pod["nodeSelector"] == {"holotutor.io/turn": "true"}
    container = pod["containers"][0]
    assert "--external-ip=$(NODE_IP)" in container["args"]
    assert {"name": "NODE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}} in (
        container["env"]
    )
    assert objs["Service"]["spec"]["clusterIP"] == "None"
    assert "Deployment" not in objs


def test_redis_password_is_in_a_secret_not_in_the_configmap() -> None:
    objs = by_kind(children(parse_spec(LB_SPEC), OWNER, USERDB, None))

    assert "pw" not in yaml.safe_dump(objs["ConfigMap"])
    env = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["valueFrom"]["secretKeyRef"]["name"] == objs["Secret"]["metadata"]["name"]


def test_a_changed_config_changes_the_pod_template() -> None:
    def template_hash(raw: dict[str, Any]) -> str:
        d = by_kind(children(parse_spec(raw), OWNER, USERDB, None))["Deployment"]
        return str(d["spec"]["template"]["metadata"]["annotations"]["holotutor.io/config-hash"])

    changed = {**LB_SPEC, "ports": {**LB_SPEC["ports"], "listening": 3479}}
    assert template_hash(LB_SPEC) == template_hash(dict(LB_SPEC))
    assert template_hash(LB_SPEC) != template_hash(changed)


def test_turnserver_conf_authenticates_from_redis_and_denies_private_peers() -> None:
    lines = render_turnserver_conf(parse_spec(HOST_SPEC)).splitlines()

    for line in [
        "use-auth-secret",
        "no-cli",
        "prometheus",
        "realm=turn.example.org",
        "min-port=49152",
        "max-port=65535",
        "no-multicast-peers",
    ]:
        assert line in lines
    denied = {line.split("=", 1)[1] for line in lines if line.startswith("denied-peer-ip=")}
    assert {
        "10.0.0.0-10.255.255.255",
        "172.16.0.0-172.31.255.255",
        "192.168.0.0-192.168.255.255",
        "127.0.0.0-127.255.255.255",
        "169.254.0.0-169.254.255.255",
        "100.64.0.0-100.127.255.255",
        "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "::1-::1",
    } <= denied
    assert not any(line.startswith(("static-auth-secret", "redis-userdb")) for line in lines)


def test_allowed_peers_open_the_pod_network_to_relays_and_nothing_wider() -> None:
    spec = parse_spec({**HOST_SPEC, "allowedPeers": ["10.244.0.0/16"]})
    lines = render_turnserver_conf(spec).splitlines()
    assert "allowed-peer-ip=10.244.0.0-10.244.255.255" in lines
    assert "denied-peer-ip=10.0.0.0-10.255.255.255" in lines  # the rest of 10/8 stays denied
    for wide in (["0.0.0.0/0"], ["10.0.0.0/4"], ["not-a-network"]):
        with pytest.raises(SpecError):
            parse_spec({**HOST_SPEC, "allowedPeers": wide})


def test_redis_url_becomes_a_coturn_connection_string() -> None:
    assert redis_userdb("redis://:p%40ss@redis.holo:6380/2") == (
        "ip=redis.holo dbname=2 port=6380 password=p@ss connect_timeout=30"
    )
    assert redis_userdb("redis://127.0.0.1") == "ip=127.0.0.1 dbname=0 port=6379 connect_timeout=30"


@pytest.mark.parametrize(
    "change",
    [
        {"ports": {"relayMin": 40000, "relayMax": 50000}},  # too many ports for a balancer
        {"ports": {"relayMin": 50010, "relayMax": 50000}},
        {"externalAddress": {"source": "Static"}},
        {"externalAddress": {"source": "NodeIP"}},
        {"placement": {"mode": "Sideways"}},
    ],
)
def test_specs_that_cannot_work_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(SpecError):
        parse_spec({**LB_SPEC, **change})


def test_the_crd_and_the_example_are_valid() -> None:
    validate(yaml.safe_load(CRD_PATH.read_text()))
    validate(yaml.safe_load((ROOT / "k8s/examples/turnserver.yaml").read_text()))
    parse_spec(yaml.safe_load((ROOT / "k8s/examples/turnserver.yaml").read_text())["spec"])


def test_the_crd_refuses_unknown_and_bad_fields() -> None:
    example = yaml.safe_load((ROOT / "k8s/examples/turnserver.yaml").read_text())
    with pytest.raises(Exception, match="Additional properties"):
        validate({**example, "spec": {**example["spec"], "relm": "typo"}})
    with pytest.raises(Exception, match="is not one of"):
        validate({**example, "spec": {**example["spec"], "placement": {"mode": "Both"}}})
