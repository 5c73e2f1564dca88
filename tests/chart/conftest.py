"""Fixtures of the Helm chart tests (see rendering.py for the renderer and the paths)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.chart.rendering import (
    CI_VALUES,
    HELM,
    INSTALL_HINT,
    KUBECTL,
    NODE_MODULES,
    Rendered,
    render,
    require_tool,
)


@pytest.fixture(scope="session")
def helm() -> Path:
    return require_tool(HELM)


@pytest.fixture(scope="session")
def kubectl() -> Path:
    return require_tool(KUBECTL)


@pytest.fixture(scope="session")
def node_modules() -> Path:
    if not (NODE_MODULES / "@kubernetes-models" / "prometheus-operator").is_dir():
        pytest.fail(f"{NODE_MODULES} lacks @kubernetes-models: {INSTALL_HINT}", pytrace=False)
    if shutil.which("node") is None:
        pytest.fail("node is required to validate ServiceMonitor/PrometheusRule/HTTPRoute")
    return NODE_MODULES


@pytest.fixture(scope="session")
def renderer(helm: Path) -> Callable[..., Rendered]:
    return render


@pytest.fixture(scope="session", params=CI_VALUES, ids=[p.name for p in CI_VALUES])
def scenario(request: pytest.FixtureRequest, helm: Path) -> Rendered:
    """The chart rendered with each ci/*-values.yaml scenario."""
    path: Path = request.param
    return render([path])
