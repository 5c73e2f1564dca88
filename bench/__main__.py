"""``python -m bench`` runs every module ``bench/<name>.py`` that defines ``main()``, in name
order; ``python -m bench NAME [NAME ...]`` runs those. Modules whose name starts with ``_`` are
helpers. ``main()`` may be a coroutine function. A failing bench is reported and the others still
run; the exit status is non-zero if any failed."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(
        p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_") and p.stem != "conftest"
    )


def run(name: str) -> bool:
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.{name}":
            print(
                f"bench: no module bench/{name}.py (have: {', '.join(available())})",
                file=sys.stderr,
            )
            return False
        raise
    main = getattr(module, "main", None)
    if not callable(main):
        print(f"bench: bench/{name}.py defines no main(); skipped", file=sys.stderr)
        return True
    print(f"\n===== bench {name} =====", flush=True)
    t0 = time.monotonic()
    try:
        result = main()
        if inspect.isawaitable(result):
            asyncio.run(result)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        raise
    except BaseException:  # SystemExit from a bench too: report it and go on
        traceback.print_exc()
        print(f"===== bench {name} FAILED after {time.monotonic() - t0:.0f}s =====", flush=True)
        return False
    print(f"===== bench {name} done in {time.monotonic() - t0:.0f}s =====", flush=True)
    return True


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help", "-l", "--list"):
        print(__doc__)
        print(
            "benches:",
            ", ".join(
                n
                for n in available()
                if callable(getattr(importlib.import_module(f"bench.{n}"), "main", None))
            ),
        )
        return 0
    names = argv or available()
    failed = [n for n in names if not run(n)]
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
