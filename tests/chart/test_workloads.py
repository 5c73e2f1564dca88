"""Invariants over every rendered workload: resources, probes, a hardened securityContext,
pinned images; the app's drain timing and spread."""

from __future__ import annotations

from pathlib import Path

from tests.chart.rendering import CHART, Rendered, containers, pod_specs, render

DEFAULT = CHART / "ci" / "default-values.yaml"
# A helm test pod runs once; it needs no probes.
NO_PROBES_KINDS = {"Pod"}


def is_development(rendered: Rendered) -> bool:
    return bool(rendered.one("ConfigMap", "app")["data"]["HOLO_ENV"] == "development")


def test_every_container_has_resources_probes_and_a_non_root_context(scenario: Rendered) -> None:
    # The development image (skaffold) gets synced sources, so its root filesystem is writable.
    writable_root_ok = is_development(scenario)
    seen = 0
    for obj, spec in pod_specs(scenario):
        pod_ctx = spec.get("securityContext", {})
        assert pod_ctx.get("runAsNonRoot") is True, obj["metadata"]["name"]
        assert pod_ctx.get("seccompProfile", {}).get("type") == "RuntimeDefault"
        for c in containers(spec):
            seen += 1
            where = f"{obj['kind']}/{obj['metadata']['name']}/{c['name']}"
            resources = c.get("resources", {})
            assert resources.get("requests", {}).get("cpu"), f"{where}: no cpu request"
            assert resources.get("requests", {}).get("memory"), f"{where}: no memory request"
            assert resources.get("limits", {}).get("memory"), f"{where}: no memory limit"
            if obj["kind"] not in NO_PROBES_KINDS:
                assert "livenessProbe" in c, f"{where}: no liveness probe"
                assert "readinessProbe" in c, f"{where}: no readiness probe"
            ctx = c.get("securityContext", {})
            assert ctx.get("runAsNonRoot") is True, f"{where}: may run as root"
            assert ctx.get("runAsUser", 1) != 0, f"{where}: runs as uid 0"
            assert ctx.get("allowPrivilegeEscalation") is False, f"{where}: may escalate"
            if not (writable_root_ok and c["name"] == "app"):
                assert ctx.get("readOnlyRootFilesystem") is True, f"{where}: writable root"
            assert ctx.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities"
            assert ctx.get("privileged") is not True
            image: str = c["image"]
            tag = image.split("@")[0].rpartition(":")[2]
            assert "/" not in tag and tag not in {"", "latest"}, f"{where}: unpinned {image}"
    assert seen >= 3


def test_no_host_namespaces_or_host_paths(scenario: Rendered) -> None:
    for obj, spec in pod_specs(scenario):
        # Service links would inject e.g. HOLO_PORT=tcp://... for a Service named `holo`.
        assert spec.get("enableServiceLinks") is False, obj["metadata"]["name"]
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), obj["metadata"]["name"]
        assert all("hostPath" not in v for v in spec.get("volumes", []))


def test_app_probes_hit_healthz_and_readyz(helm: Path) -> None:
    app = render([DEFAULT]).one("Deployment", "app")["spec"]["template"]["spec"]
    (c,) = app["containers"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_app_writes_only_to_tmp_and_the_media_dir(helm: Path) -> None:
    rendered = render([DEFAULT])
    spec = rendered.one("Deployment", "app")["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    media = rendered.one("ConfigMap", "app")["data"]["HOLO_MEDIA_DIR"]
    assert mounts == {"/tmp": "tmp", media: "media"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes["tmp"] and "emptyDir" in volumes["media"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_grace_period_covers_prestop_drain_and_shutdown(helm: Path) -> None:
    rendered = render([DEFAULT], ["config.drainSeconds=3", "config.shutdownGraceSeconds=31"])
    spec = rendered.one("Deployment", "app")["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    # preStop 5 + drain 3 + shutdown 31 + 5 margin
    assert spec["terminationGracePeriodSeconds"] == 44
    defaults = render([DEFAULT]).one("Deployment", "app")["spec"]["template"]["spec"]
    assert defaults["terminationGracePeriodSeconds"] == 5 + 2 + 20 + 5


def test_app_spreads_over_nodes_and_zones_and_rolls_without_capacity_loss(helm: Path) -> None:
    deploy = render([DEFAULT]).one("Deployment", "app")
    spread = deploy["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {s["topologyKey"] for s in spread} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }
    assert deploy["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert "replicas" not in deploy["spec"]  # the HPA owns it


def test_hpa_and_pdb_target_the_app(helm: Path) -> None:
    rendered = render([DEFAULT])
    deploy = rendered.one("Deployment", "app")
    hpa = rendered.one("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deploy["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2
    pdb = rendered.one("PodDisruptionBudget")
    selector = pdb["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deploy["spec"]["template"]["metadata"]["labels"].items()


def test_only_the_operator_gets_an_api_token(scenario: Rendered) -> None:
    for obj, spec in pod_specs(scenario):
        component = obj["metadata"]["labels"]["app.kubernetes.io/component"]
        assert spec.get("automountServiceAccountToken") is (component == "operator"), component


def test_names_fit_in_63_characters(scenario: Rendered) -> None:
    for obj in scenario.objects:
        assert len(obj["metadata"]["name"]) <= 63, obj["metadata"]["name"]
        for value in obj["metadata"].get("labels", {}).values():
            assert len(str(value)) <= 63


def test_selector_labels_are_stable_across_versions(helm: Path) -> None:
    deploy = render([DEFAULT]).one("Deployment", "app")
    assert set(deploy["spec"]["selector"]["matchLabels"]) == {
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/component",
    }
