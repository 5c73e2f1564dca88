"""`helm lint` (strict) for every scenario, and the defaults' refusal to install without secrets."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.chart.rendering import CHART, CI_VALUES, RenderError, render


@pytest.mark.parametrize("values", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_helm_lint_strict(helm: Path, values: Path) -> None:
    proc = subprocess.run(
        [str(helm), "lint", "--strict", str(CHART), "-f", str(values)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_there_are_scenarios() -> None:
    names = {p.name for p in CI_VALUES}
    assert {"default-values.yaml", "dev-values.yaml", "production-values.yaml"} <= names


def test_plain_defaults_refuse_to_install_without_the_secret(helm: Path) -> None:
    # Secure by default: production mode, and no development signing key.
    with pytest.raises(RenderError, match=r"secrets\.existingSecret is required"):
        render()


def test_notes_tell_how_to_reach_and_check_the_release(helm: Path) -> None:
    dev = CHART / "ci" / "dev-values.yaml"
    proc = subprocess.run(
        [
            str(helm),
            "install",
            "holo-tutor",
            str(CHART),
            "-n",
            "holo",
            "--dry-run=client",
            "-f",
            str(dev),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    notes = proc.stdout.partition("NOTES:")[2]
    assert "Open: http://localhost/" in notes
    assert "helm test holo-tutor -n holo" in notes
    assert "kubectl -n holo get turnserver holo-tutor" in notes


def test_package_ships_schema_crd_and_dashboard_but_not_ci(helm: Path, tmp_path: Path) -> None:
    subprocess.run(
        [str(helm), "package", str(CHART), "-d", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (archive,) = tmp_path.glob("holo-tutor-*.tgz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    for wanted in ("values.schema.json", "crds/turnserver.yaml", "files/grafana-dashboard.json"):
        assert f"holo-tutor/{wanted}" in names, wanted
    assert not any(name.startswith("holo-tutor/ci/") for name in names)
