"""A learner and an invitee in a video call, on two replicas sharing Redis, in real Chromium.

The learner opens the app on replica A and picks a tutor; the invitee follows the invite link on
replica B. Both decode each other's video (getStats), chat (each message shown once), the
learner shares a screen, both sides restart ICE at the same moment (colliding offers), the
invitee reloads and the learner's socket drops (the call comes back each time), and the learner
ends the session and reads its history. axe-core checks each page.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.async_api import expect

from tests.e2e.browser import (
    accessibility_violations,
    call_stats,
    peer_connection_count,
    restart_ice,
    screenshot,
    sign_in,
    wait_frames,
    wait_ice_restarted,
    wait_new_call,
)
from tests.e2e.conftest import NewPage
from tests.servers import Replica

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def on_replica(url: str, replica: Replica) -> str:
    """The same path on another replica (the invite names the replica that made it)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, urlsplit(replica.url).netloc, parts.path, parts.query, ""))


async def test_two_people_call_chat_share_reload_and_history(
    app_cluster: tuple[Replica, Replica], new_page: NewPage
) -> None:
    a, b = app_cluster
    learner = await new_page(a.url)
    await learner.goto("/")
    await sign_in(learner, "Lena")
    grid = learner.get_by_test_id("companion-grid")
    await expect(grid.get_by_role("listitem")).not_to_have_count(0)
    # Filters narrow the grid; an impossible search shows the empty state.
    await learner.get_by_label("Search").fill("zzzz-no-such-tutor")
    await expect(learner.get_by_text("No tutor matches these filters.")).to_be_visible()
    await learner.get_by_role("button", name="Clear filters").click()
    await learner.get_by_label("Subject").select_option("mathematics")
    await expect(grid.get_by_role("button", name="Start a session with Ada")).to_be_visible()
    await expect(grid.get_by_role("button", name="Start a session with Lucas")).to_have_count(0)
    await screenshot(learner, "tutor-grid")
    assert await accessibility_violations(learner) == []

    await grid.get_by_role("button", name="Start a session with Ada").click()
    await expect(learner.get_by_role("heading", name="Session with Ada")).to_be_visible()
    waiting = learner.get_by_role("status").filter(has_text="Waiting for someone")
    await expect(waiting).to_be_visible()
    invite = await learner.get_by_label("Invite link for a second person").input_value()
    assert "/rooms/" in invite and "invite=" in invite

    # The invitee lands straight in the room, through the other replica.
    invitee = await new_page(b.url)
    await invitee.goto(on_replica(invite, b))
    await sign_in(invitee, "Ivan")
    await expect(invitee.get_by_role("heading", name="Session with Ada")).to_be_visible()

    await wait_frames(learner)
    await wait_frames(invitee)
    for page in (learner, invitee):
        await expect(page.locator("[data-state=connected]")).to_be_visible()
    await expect(learner.get_by_test_id("participants")).to_contain_text("Ivan")
    await expect(invitee.get_by_test_id("participants")).to_contain_text("Lena")

    # Chat both ways; each side shows each message exactly once.
    await learner.get_by_label("Message").fill("Hi Ivan, can you see my algebra?")
    await learner.get_by_role("button", name="Send").click()
    await invitee.get_by_label("Message").fill("Yes, loud and clear")
    await invitee.get_by_label("Message").press("Enter")
    for page in (learner, invitee):
        messages = page.get_by_test_id("messages")
        for text in ("Hi Ivan, can you see my algebra?", "Yes, loud and clear"):
            await expect(messages.get_by_text(text, exact=True)).to_have_count(1)
    await screenshot(learner, "call")
    assert await accessibility_violations(learner) == []

    # Screen share: the learner's outgoing video becomes the screen, and Ivan keeps decoding.
    camera_label = (await call_stats(learner))["sentVideoLabel"]
    await learner.get_by_role("button", name="Share screen").click()
    await expect(learner.get_by_role("button", name="Stop sharing")).to_be_visible()
    await learner.wait_for_function(
        "async (cam) => { const s = await window.__callStats(); "
        "return s.sentVideoLabel && s.sentVideoLabel !== cam; }",
        arg=camera_label,
        polling=100,
    )
    before = (await call_stats(invitee))["framesDecoded"]
    await wait_frames(invitee, more_than=before + 10)
    await learner.get_by_role("button", name="Stop sharing").click()
    await learner.wait_for_function(
        "async (cam) => (await window.__callStats()).sentVideoLabel === cam",
        arg=camera_label,
        polling=100,
    )

    # Both sides restart ICE at the same moment: their offers collide (glare). Perfect
    # negotiation settles it (the polite side rolls back), both get new ICE credentials, and
    # the video keeps flowing.
    before = await asyncio.gather(restart_ice(learner), restart_ice(invitee))
    await wait_ice_restarted(learner, before[0])
    await wait_ice_restarted(invitee, before[1])
    for page in (learner, invitee):
        await wait_frames(page, more_than=(await call_stats(page))["framesDecoded"] + 10)

    # The invitee reloads: the call comes back on both sides, the chat is still there once.
    learner_pcs = await peer_connection_count(learner)
    await invitee.reload()
    await expect(invitee.get_by_role("heading", name="Session with Ada")).to_be_visible()
    await wait_frames(invitee)
    await wait_new_call(learner, after=learner_pcs)
    await expect(
        invitee.get_by_test_id("messages").get_by_text("Yes, loud and clear", exact=True)
    ).to_have_count(1)

    # The learner's connection to the server drops (no reload): Socket.IO reconnects, the page
    # joins again and the call is renegotiated on both sides.
    await learner.evaluate("window.__stillThisPage = true")
    learner_pcs = await peer_connection_count(learner)
    invitee_pcs = await peer_connection_count(invitee)
    await learner.evaluate("window.__dropSockets()")
    await wait_new_call(learner, after=learner_pcs)
    await wait_new_call(invitee, after=invitee_pcs)
    assert await learner.evaluate("window.__stillThisPage === true")
    await expect(learner.get_by_test_id("participants")).to_contain_text("Ivan")

    # The learner ends the session and reads it back.
    await learner.get_by_role("button", name="End session").click()
    await expect(learner.get_by_role("heading", name="Session with Ada")).to_be_visible()
    await expect(learner.get_by_test_id("transcript")).to_contain_text("Yes, loud and clear")
    await expect(invitee.get_by_role("heading", name="This session has ended")).to_be_visible()
    await learner.get_by_role("link", name="← All sessions").click()
    await expect(learner.get_by_test_id("sessions")).to_contain_text("Ada")
    await screenshot(learner, "history")
    assert await accessibility_violations(learner) == []
