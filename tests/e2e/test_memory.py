"""A returning learner in the browser: history with the last session's summary, the progress
and profile pages (axe clean), and the tutor greeting them where they left off."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from playwright.async_api import expect

from tests.clients import Api, SocketClient
from tests.e2e.browser import accessibility_violations, screenshot
from tests.e2e.conftest import NewPage
from tests.servers import Replica
from tests.stubs.openai_chat import OpenAIChatStub
from tests.tutor.memory_steps import session_with, summaries_from_stub, summarized

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_a_returning_learner_sees_their_summary_progress_and_is_greeted(
    app_cluster: tuple[Replica, Replica],
    new_page: NewPage,
    chat: OpenAIChatStub,
    sockets: Callable[..., SocketClient],
) -> None:
    a, b = app_cluster
    summaries_from_stub(chat)
    async with httpx.AsyncClient(base_url=a.url) as http:
        issued = (await http.post("/api/auth/guest", json={"display_name": "Lena"})).json()
    api = Api(a.url, issued["token"])
    _, record = await session_with(sockets, api, b.url, "ada-math", "How do I solve 2x + 3 = 7?")
    await summarized(api, record["session_id"])

    page = await new_page(a.url)
    await page.add_init_script(
        f"localStorage.setItem('holo.identity', {json.dumps(json.dumps(issued))})"
    )
    await page.goto("/history")
    await expect(page.get_by_text("solving linear equations; the balance method")).to_be_visible()
    await screenshot(page, "returning-history")

    await page.get_by_role("link", name="Progress").click()
    per_tutor = page.get_by_role("table", name="Per tutor")
    await expect(per_tutor.get_by_role("row", name="Ada")).to_contain_text("solving linear")
    await expect(page.get_by_text("1 week")).to_be_visible()
    await expect(page.locator(".recharts-bar-rectangle").first).to_be_visible()
    assert await accessibility_violations(page) == []
    await screenshot(page, "returning-progress")

    await page.get_by_role("link", name="Profile").click()
    await page.get_by_label("Your goals").fill("Pass the algebra exam")
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_role("status").first).to_have_text("Profile saved.")
    assert await accessibility_violations(page) == []

    # A new session with Ada: she greets Lena where they left off.
    await page.get_by_role("link", name="Tutors").click()
    await page.get_by_role("button", name="Start a session with Ada").click()
    greeting = page.get_by_test_id("messages").locator("[data-kind=ai]").first
    await expect(greeting).to_contain_text("Welcome back, Lena! Last time we worked on solving")
    await screenshot(page, "returning-greeting")
