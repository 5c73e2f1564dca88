"""Observability objects: the PrometheusRule passes `promtool check rules` and a `promtool test
rules` case per alert; ServiceMonitors scrape what the Services expose; the dashboard queries
only metrics that exist (docs/operations.md lists them)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.rendering import CHART, Rendered, render

DEFAULT = CHART / "ci" / "default-values.yaml"
ALERT_TESTS = Path(__file__).with_name("alerts_test.yaml")
DESIGN_METRICS = {
    "holo_http_requests_total",
    "holo_http_request_duration_seconds",
    "holo_socket_connections",
    "holo_socket_events_total",
    "holo_rooms_active",
    "holo_sessions_total",
    "holo_errors_total",
    "holo_rate_limited_total",
    "holo_llm_tokens_total",
    "holo_tts_characters_total",
    "holo_llm_ttft_seconds",
    "holo_tts_ttfb_seconds",
    "holo_reply_first_audio_seconds",
    "holo_turn_credentials_issued_total",
    "holo_turn_rotations_total",
    "holo_turn_secret_age_seconds",
    # Learners (docs/tutor.md, memory and data rights).
    "holo_session_duration_seconds",
    "holo_session_messages",
    "holo_returning_learners_total",
    "holo_summaries_total",
    "holo_erasures_total",
}
# redis_exporter's metrics and Prometheus' own `up`.
OTHER_METRICS = {"redis_memory_used_bytes", "redis_memory_max_bytes", "up"}
REQUIRED_ALERTS = {
    "HoloRedisMemoryHigh",
    "HoloApiErrorRateHigh",
    "HoloLLMTokenBudgetApproaching",
    "HoloReplicaDown",
    "HoloTurnSecretTooOld",
}


@pytest.fixture(scope="module")
def promtool() -> Path:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: apt-get install prometheus", pytrace=False)
    return Path(found)


@pytest.fixture(scope="module")
def monitored(helm: Path) -> Rendered:
    return render(
        [DEFAULT],
        [
            "metrics.prometheusRule.enabled=true",
            "metrics.serviceMonitor.enabled=true",
            "metrics.grafanaDashboard.enabled=true",
        ],
    )


def rule_groups(rendered: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = rendered.one("PrometheusRule")["spec"]
    return spec


def metric_names(expr: str) -> set[str]:
    names = set(re.findall(r"\b(holo_[a-z_]+|redis_[a-z_]+|up)\b(?=\s*[{\[)])", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def test_promtool_check_rules(monitored: Rendered, promtool: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(rule_groups(monitored)))
    proc = subprocess.run(
        [str(promtool), "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_test_rules_has_a_case_per_alert(
    monitored: Rendered, promtool: Path, tmp_path: Path
) -> None:
    groups = rule_groups(monitored)
    alerts = {rule["alert"] for group in groups["groups"] for rule in group["rules"]}
    assert alerts >= REQUIRED_ALERTS
    cases = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    tested = {t["alertname"] for case in cases for t in case["alert_rule_test"] if t["exp_alerts"]}
    assert alerts == tested, f"alerts without a firing test case: {alerts - tested}"
    for group in groups["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)  # templates are checked by `promtool check rules`
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(groups))
    shutil.copy(ALERT_TESTS, tmp_path / ALERT_TESTS.name)
    proc = subprocess.run(
        [str(promtool), "test", "rules", ALERT_TESTS.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_alerts_query_only_known_metrics(monitored: Rendered) -> None:
    for group in rule_groups(monitored)["groups"]:
        for rule in group["rules"]:
            unknown = metric_names(rule["expr"]) - DESIGN_METRICS - OTHER_METRICS
            assert not unknown, f"{rule['alert']}: {unknown}"


def test_servicemonitors_scrape_named_ports_of_the_services(monitored: Rendered) -> None:
    services = monitored.of_kind("Service")
    for monitor in monitored.of_kind("ServiceMonitor"):
        selector = monitor["spec"]["selector"]["matchLabels"]
        (endpoint,) = monitor["spec"]["endpoints"]
        matched = [s for s in services if selector.items() <= s["metadata"]["labels"].items()]
        ports = {p["name"] for s in matched for p in s["spec"]["ports"]}
        assert endpoint["port"] in ports, monitor["metadata"]["name"]
    components = {
        m["metadata"]["labels"]["app.kubernetes.io/component"]
        for m in monitored.of_kind("ServiceMonitor")
    }
    assert components == {"app", "operator", "redis"}


def test_dashboard_is_valid_json_querying_known_metrics(monitored: Rendered) -> None:
    config_map = monitored.one("ConfigMap", "monitoring")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config_map["data"]["holo-tutor.json"])
    assert dashboard["uid"] == "holo-tutor"
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used: set[str] = set()
    for expr in exprs:
        used |= metric_names(expr)
    assert not used - DESIGN_METRICS - OTHER_METRICS, used - DESIGN_METRICS - OTHER_METRICS
    # Every design metric of the app and the operator has a panel.
    assert DESIGN_METRICS <= used, DESIGN_METRICS - used
