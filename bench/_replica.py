"""Runs one holo-tutor replica for the benches: ``python -m bench._replica [--no-tutor]``.

``--no-tutor`` measures the realtime core alone (issue 2's relay): every learner message
otherwise also queues a reply from the AI tutor, which the Node baseline has no equivalent of.
It swaps the app's ``open_tutor`` and ``open_voice`` for ones that yield nothing
(``services.tutor`` and ``services.voice`` stay None, which the event handlers already allow); if
the app no longer has that hook, the replica runs as shipped and says so on its first output
line, which the harness checks.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any


def main() -> None:
    if "--no-tutor" in sys.argv[1:]:
        import app.main

        if hasattr(app.main, "open_tutor"):

            @contextlib.asynccontextmanager
            async def no_tutor(*args: Any, **kwargs: Any) -> AsyncIterator[None]:
                yield None

            app.main.open_tutor = no_tutor
            # The tutor's voice needs the tutor: without it, no voice calls either.
            app.main.open_voice = no_tutor  # type: ignore[attr-defined,assignment]
            print("bench: tutor disabled", flush=True)
        else:
            print("bench: NO TUTOR HOOK (app.main.open_tutor); running as shipped", flush=True)
    from app.cli import main as serve

    sys.argv = sys.argv[:1]
    serve()


if __name__ == "__main__":
    main()
