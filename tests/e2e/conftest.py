"""Browser fixtures: the built web app, one Chromium for the session, a fresh context per
participant (camera and microphone granted)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.conftest import BASE_ENV
from tests.e2e.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, INIT_SCRIPT, ROOT
from tests.servers import RedisServer, Replica
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import OpenAIChatStub

# The tutor's stand-ins (OpenAI-compatible chat, ElevenLabs) and moto's S3, as tests/tutor uses.
from tests.tutor.conftest import s3_endpoint, tutor_chat, tutor_env, tutor_voice

__all__ = ["s3_endpoint", "tutor_chat", "tutor_voice"]

DIST = ROOT / "frontend" / "dist"


def _stale() -> bool:
    """dist/ missing, or older than a source it is built from."""
    built = DIST / "index.html"
    if not built.is_file():
        return True
    app = ROOT / "frontend"
    sources = [*app.joinpath("src").rglob("*"), app / "index.html", app / "package-lock.json"]
    newest = max(p.stat().st_mtime for p in sources if p.is_file())
    return newest > built.stat().st_mtime


@pytest.fixture(scope="session", autouse=True)
def frontend_dist() -> None:
    """`make test` builds the app before pytest; a bare pytest run builds it here when it is
    missing or older than its sources. Replicas serve frontend/dist, so this runs first."""
    if not _stale():
        return
    if not (ROOT / "frontend" / "node_modules").is_dir() or shutil.which("npm") is None:
        pytest.skip("frontend/dist is missing or stale and npm is not set up (make frontend)")
    subprocess.run(["npm", "--prefix", str(ROOT / "frontend"), "run", "build"], check=True)


@pytest.fixture(scope="session")
def app_cluster(
    frontend_dist: None,
    redis_server: RedisServer,
    tutor_chat: OpenAIChatStub,
    tutor_voice: ElevenLabsStub,
    s3_endpoint: str,
) -> Iterator[tuple[Replica, Replica]]:
    """Two replicas on one real Redis, serving the built app, with the tutor wired to the
    stand-ins: what a learner's browser talks to."""
    env = {**BASE_ENV, "HOLO_REDIS_URL": redis_server.url}
    env.update(tutor_env(tutor_chat, tutor_voice, s3_endpoint))
    a = Replica(name="e2e-a", env=env).start()
    b = Replica(name="e2e-b", env=env).start()
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture
def chat(tutor_chat: OpenAIChatStub) -> Iterator[OpenAIChatStub]:
    tutor_chat.reset()
    yield tutor_chat
    tutor_chat.reset()


@pytest.fixture
def voice(tutor_voice: ElevenLabsStub) -> Iterator[ElevenLabsStub]:
    tutor_voice.reset()
    yield tutor_voice
    tutor_voice.reset()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


NewPage = Callable[..., Awaitable[Page]]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
async def new_page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[NewPage]:
    """new_page(base_url) -> a page in its own context (its own storage: its own person).
    When the test fails, each context's Playwright trace (open with `playwright show-trace`)
    and a screenshot of each page land in test-artifacts/e2e/failures/. Anything the app's
    Content-Security-Policy blocked fails the test: the app must work under it."""
    contexts: list[BrowserContext] = []
    blocked: list[str] = []

    async def make(base_url: str, width: int = 1280, height: int = 860) -> Page:
        context = await browser.new_context(
            base_url=base_url,
            permissions=["camera", "microphone"],
            viewport={"width": width, "height": height},
        )
        await context.add_init_script(INIT_SCRIPT)
        await context.tracing.start(screenshots=True, snapshots=True)
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(15_000)
        page.on(
            "console",
            lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None,
        )
        return page

    yield make
    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    where = ARTIFACTS / "failures" / request.node.name
    for i, context in enumerate(contexts):
        if failed:
            where.mkdir(parents=True, exist_ok=True)
            for j, page in enumerate(context.pages):
                await page.screenshot(path=str(where / f"context{i}-page{j}.png"), full_page=True)
            await context.tracing.stop(path=str(where / f"context{i}-trace.zip"))
        await context.close()
    assert not blocked, f"the Content-Security-Policy blocked: {blocked}"
