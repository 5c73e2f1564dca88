"""Fixtures for the operator tests: real redis-server, the Kubernetes API stand-in, clients."""

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The helpers beside these tests (stand-ins, fixtures) are imported by module name.
sys.path.insert(0, str(Path(__file__).parent))

import kopf  # noqa: E402
from holo_operator.config import OperatorConfig  # noqa: E402
from holo_operator.kube import KubeClient  # noqa: E402
from holo_operator.runtime import Runtime  # noqa: E402
from kube_api_standin import KubeApiStandin  # noqa: E402
from manifest_validation import load_crd, validate  # noqa: E402
from turn_fixtures import NAMESPACE  # noqa: E402
from turn_processes import RedisServer, redis_server  # noqa: E402


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
async def standin() -> AsyncIterator[KubeApiStandin]:
    api = KubeApiStandin(validator=validate)
    await api.add_custom_resource(load_crd())
    await api.add_namespace(NAMESPACE)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def runtime(standin: KubeApiStandin) -> AsyncIterator[Runtime]:
    kube = KubeClient.from_connection(kopf.ConnectionInfo(server=standin.url, token=standin.token))
    rt = Runtime(config=OperatorConfig(instance="test-instance", lock_ttl_seconds=30), kube=kube)
    yield rt
    await rt.close()
