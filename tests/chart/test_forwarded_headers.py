"""Behind the ingress, the chart's default trust in X-Forwarded-For gives each client its own
rate-limit bucket and lets no client choose one: a replica with the forwardedAllowIps the chart
renders, behind an nginx that appends the client's address as ingress-nginx does."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.chart.rendering import CHART, render
from tests.conftest import ReplicaFactory
from tests.servers import LoadBalancer

LIMIT = 5


async def limited(url: str, spoofed: list[str]) -> list[bool]:
    """Whether each request (unauthenticated: the limit counts before authentication) was
    refused by the rate limit."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        return [
            (await http.get("/api/companions", headers={"X-Forwarded-For": fake})).status_code
            == 429
            for fake in spoofed
        ]


async def test_a_client_cannot_pick_its_rate_limit_bucket(
    helm: Path, start_replica: ReplicaFactory
) -> None:
    config = render([CHART / "ci" / "default-values.yaml"]).one("ConfigMap", "app")["data"]
    replica = start_replica(
        "forwarded",
        forwarded_allow_ips=config["HOLO_FORWARDED_ALLOW_IPS"],
        rate_limit_per_minute=str(LIMIT),
    )
    mallory = LoadBalancer([replica.port], sticky=False, client_address="198.51.100.7").start()
    alice = LoadBalancer([replica.port], sticky=False, client_address="198.51.100.8").start()
    try:
        # A new made-up address on every request: all are counted against the real one. (Twice
        # the limit and one: some window of the minute-long ones holds more than the limit.)
        spoofed = [f"203.0.113.{i}" for i in range(2 * LIMIT + 1)]
        assert any(await limited(mallory.url, spoofed))
        # The ingress is trusted: another client behind it has a bucket of its own.
        assert await limited(alice.url, ["203.0.113.1"]) == [False]
    finally:
        mallory.stop()
        alice.stop()
