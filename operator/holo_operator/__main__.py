"""`holo-operator` (or `python -m holo_operator`): run the operator (kopf) with its metrics and
liveness endpoints."""

import asyncio
import logging

import kopf
from prometheus_client import start_http_server

from holo_operator import handlers


def main() -> None:
    config = handlers.CONFIG
    # JSON lines, like the app's logs; kopf adds the object's namespace/name to each record.
    kopf.configure(log_format=kopf.LogFormat.JSON, verbose=config.verbose)
    # httpx logs every request at INFO: the operator's own client would drown kopf's messages.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
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
