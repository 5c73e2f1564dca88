"""The chart's part in voice calls: coturn may relay media to the app's WebRTC peers when a
NetworkPolicy is wanted, and the HPA can scale on voice sessions."""

from __future__ import annotations

from pathlib import Path

from tests.chart.rendering import CHART, render

DEFAULT = CHART / "ci" / "default-values.yaml"


def test_the_app_network_policy_admits_http_and_udp_from_coturn_only(helm: Path) -> None:
    assert not any(
        p["metadata"]["labels"].get("app.kubernetes.io/component") == "app"
        for p in render([DEFAULT]).of_kind("NetworkPolicy")
    )
    policy = render([DEFAULT], ["networkPolicy.enabled=true"]).one("NetworkPolicy", "app")
    http, relay = policy["spec"]["ingress"]
    assert http["ports"] == [{"port": "http", "protocol": "TCP"}] and "from" not in http
    assert relay["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "coturn"}}}]
    assert relay["ports"] == [{"protocol": "UDP", "port": 1024, "endPort": 65535}]


def test_the_hpa_can_scale_on_voice_sessions(helm: Path) -> None:
    hpa = render([DEFAULT], ["autoscaling.targetVoiceSessionsPerPod=6"]).one(
        "HorizontalPodAutoscaler"
    )
    pods = [m for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
    assert pods == [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "holo_voice_sessions"},
                "target": {"type": "AverageValue", "averageValue": "6"},
            },
        }
    ]


def test_stt_keys_come_from_the_secret(helm: Path) -> None:
    app = render([DEFAULT], ["secrets.existingSecret=s"]).one("Deployment", "app")
    env = {e["name"]: e for e in app["spec"]["template"]["spec"]["containers"][0]["env"]}
    for name in ("HOLO_STT_API_KEY", "HOLO_DEEPGRAM_API_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"]["optional"] is True
