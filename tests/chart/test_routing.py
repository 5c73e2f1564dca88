"""Sticky sessions: the ingress-nginx Ingress and the Gateway API HTTPRoute."""

from __future__ import annotations

from pathlib import Path

from tests.chart.rendering import CHART, render

DEFAULT = CHART / "ci" / "default-values.yaml"
PRODUCTION = CHART / "ci" / "production-values.yaml"
NGINX = "nginx.ingress.kubernetes.io/"


def test_ingress_has_persistent_cookie_affinity_and_lesson_long_timeouts(helm: Path) -> None:
    rendered = render([DEFAULT], ["ingress.enabled=true", "ingress.tlsSecretName=tls"])
    annotations = rendered.one("Ingress")["metadata"]["annotations"]
    assert annotations[NGINX + "affinity"] == "cookie"
    assert annotations[NGINX + "affinity-mode"] == "persistent"
    assert annotations[NGINX + "session-cookie-name"] == "holo-affinity"
    assert annotations[NGINX + "session-cookie-path"] == "/"
    assert annotations[NGINX + "session-cookie-secure"] == "true"
    assert int(annotations[NGINX + "proxy-read-timeout"]) >= 3600
    assert int(annotations[NGINX + "proxy-send-timeout"]) >= 3600


def test_ingress_cookie_path_follows_the_app_path(helm: Path) -> None:
    rendered = render([DEFAULT], ["ingress.enabled=true", "ingress.path=/tutor"])
    ingress = rendered.one("Ingress")
    assert ingress["metadata"]["annotations"][NGINX + "session-cookie-path"] == "/tutor"
    assert ingress["spec"]["rules"][0]["http"]["paths"][-1]["path"] == "/tutor"


def test_httproute_has_cookie_session_persistence(helm: Path) -> None:
    rendered = render([PRODUCTION])
    route = rendered.one("HTTPRoute")
    blocked, rule = route["spec"]["rules"]
    assert blocked == {"matches": [{"path": {"type": "Exact", "value": "/metrics"}}]}
    assert rule["sessionPersistence"]["type"] == "Cookie"
    assert rule["sessionPersistence"]["sessionName"] == "holo-affinity"
    assert rule["backendRefs"][0]["name"] == rendered.one("Service", "app")["metadata"]["name"]
    assert rule["timeouts"] == {"request": "0s"}
    assert not rendered.of_kind("Ingress")


def test_httproute_session_persistence_can_be_left_to_the_gateway(helm: Path) -> None:
    rendered = render([PRODUCTION], ["httpRoute.sessionPersistence.enabled=false"])
    _, rule = rendered.one("HTTPRoute")["spec"]["rules"]
    assert "sessionPersistence" not in rule


def test_metrics_are_not_published_through_the_ingress(helm: Path) -> None:
    rendered = render([DEFAULT], ["ingress.enabled=true", "ingress.path=/tutor"])
    paths = rendered.one("Ingress")["spec"]["rules"][0]["http"]["paths"]
    blocked = next(p for p in paths if p["path"] == "/tutor/metrics")
    assert blocked["pathType"] == "Exact"
    service = rendered.one("Service", "ingress")
    assert blocked["backend"]["service"]["name"] == service["metadata"]["name"]
    assert "selector" not in service["spec"]  # no endpoints: 503
