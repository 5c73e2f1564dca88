"""`python -m holo_operator`: run the operator (kopf) with its metrics and liveness endpoints."""

import asyncio

import kopf
from prometheus_client import start_http_server

from holo_operator import handlers


def main() -> None:
    config = handlers.CONFIG
    if config.metrics_port:
        start_http_server(config.metrics_port)
    asyncio.run(
        kopf.operator(
            # Our Redis lock with fencing decides who acts; kopf peering would need its own CRDs
            # and does not stop a paused replica's timers anyway.
            standalone=True,
            clusterwide=not config.namespace,
            namespaces=[config.namespace] if config.namespace else [],
            liveness_endpoint=config.liveness_endpoint or None,
        )
    )


if __name__ == "__main__":
    main()
