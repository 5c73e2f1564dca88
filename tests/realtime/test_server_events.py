"""Every server -> client event leaves through app/server_events.py, as a registered model, and
every client event the server handles is in the table the web app's types are generated from."""

from __future__ import annotations

import re

import socketio

from app.config import Settings
from app.main import create_app
from app.models import Message, Sender
from app.realtime import schemas
from app.server_events import SERVER_EVENTS, RoomMessage, ServerEvent, ServerEvents
from tests.servers import ROOT


def _subclasses(cls: type[ServerEvent]) -> set[type[ServerEvent]]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_every_server_event_model_is_registered_once() -> None:
    concrete = {model for model in _subclasses(ServerEvent) if "event" in vars(model)}
    assert concrete == set(SERVER_EVENTS)
    names = [model.event for model in SERVER_EVENTS]
    assert len(names) == len(set(names)), names


def test_nothing_else_in_the_app_emits_to_clients() -> None:
    emitting = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "app").rglob("*.py")
        # server_events.py sends; the Socket.IO client manager is what it sends through.
        if path.relative_to(ROOT).as_posix()
        not in ("app/server_events.py", "app/realtime/manager.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.emit\(", line)
    ]
    assert emitting == [], "send through app.server_events.ServerEvents instead"


async def test_the_client_event_table_is_what_the_server_handles() -> None:
    app = create_app(Settings())
    async with app.api.router.lifespan_context(app.api):  # registers the handlers
        sio: socketio.AsyncServer = app.engineio_server
        handled = set(sio.handlers["/"]) - {"connect", "disconnect"}
    assert handled == set(schemas.CLIENT_EVENTS)


def test_a_room_message_goes_out_as_its_message_dumped() -> None:
    # The chat handler dumps the stored message once, for its ack and its event
    # (ServerEvents.send_dumped): the event's payload must be what send would have sent.
    message = Message(
        id="m1",
        seq=3,
        room_id="r1",
        sender=Sender(kind="user", user_id="ann", display_name="Ann"),
        text="hello",
        ts=1.5,
        client_id="c1",
    )
    dumped = message.model_dump(mode="json", exclude_none=True)
    assert ServerEvents.data(RoomMessage(**message.model_dump())) == dumped
