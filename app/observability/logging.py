"""Structured JSON logs, each line carrying the request id of the work it belongs to."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI duplicate of the message
        return True


class _NoConnectionChatter(logging.Filter):
    """Drops the per-WebSocket lines (accepted, open, closed) uvicorn and websockets write at
    INFO: they are access logs, which are off for HTTP too, and a client opening connections in
    a loop would otherwise write three lines each."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or record.name != "uvicorn.error":
            return True
        message = str(record.msg)
        return not (
            message in ("connection open", "connection closed")
            or message.startswith('%s - "WebSocket %s"')
        )


def configure_logging(level: str, replica_id: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.addFilter(_NoConnectionChatter())
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
            static_fields={"replica": replica_id},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn and engineio log through the root handler, in JSON too.
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "engineio", "socketio")
    for name in (*names, "engineio.server", "socketio.server"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("engineio").setLevel(logging.WARNING)
    logging.getLogger("socketio").setLevel(logging.WARNING)
