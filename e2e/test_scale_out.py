"""Two socket servers behind one front: every page gets every event once, even when one server dies.

The front balances WebSocket connections round-robin over the socket servers; every
server hears every event through Redis, and catch-up history lives in Redis too, so a
page whose server dies reconnects to another and misses nothing.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect
from socket_pages import SocketPages
from webview import assert_every_count_once_in_order, open_webview

BROWSER_PAGES = 4  # real pages: each costs a renderer process on a 2-core runner
SOCKET_PAGES = 20
EVENT = "webview_kit.count"
KILLED = "socketio-1"


@pytest.fixture
def socket_pages(stack):
	pages = SocketPages(stack.url, EVENT)
	yield pages
	pages.close()


def open_browser_page(new_context, link: str) -> Page:
	"""A page in a context of its own (its own session cookie) that records its disconnects."""
	page = new_context().new_page()
	open_webview(page, link)
	page.evaluate(
		"""() => {
			window.disconnectedAt = [];
			const room = [...webviewKit.rooms.values()][0];
			webviewKit.socket.on("disconnect", () => window.disconnectedAt.push(room.seq));
		}"""
	)
	return page


def expected_seqs(initial: int, first_seq: int) -> list[int]:
	"""The count events after the state the page rendered with (count n has sequence first_seq + n)."""
	return list(range(max(initial + 1, first_seq), first_seq + 100))


def test_pages_on_both_servers_get_every_event_once_when_one_server_dies(
	two_socket_servers, stack, accounts, user, new_context, socket_pages, start_publisher
):
	browser_pages = [open_browser_page(new_context, accounts.link(user)) for _ in range(BROWSER_PAGES)]
	for _ in range(SOCKET_PAGES):
		socket_pages.open(accounts.link(user))
	publisher = start_publisher(interval=0.05)
	publisher.go()
	first_seq = publisher.first_seq
	socket_pages.run_until(
		lambda: all(p.seq >= first_seq + 30 for p in socket_pages.pages), 60, "every socket page at 30"
	)
	assert publisher.process.poll() is None, "the count must still be running when the server dies"

	stack.kill(KILLED)
	killed_at = time.monotonic()
	try:
		socket_pages.run_until(
			lambda: all(p.seq >= first_seq + 99 for p in socket_pages.pages), 90, "every socket page at 99"
		)
		sockets_done = time.monotonic() - killed_at
		for page in browser_pages:
			expect(page.get_by_test_id("count")).to_have_text("99", timeout=60_000)
			expect(page.locator("body")).to_have_attribute("data-realtime", "live")
	finally:
		stack.restart(KILLED)
	publisher.wait()

	for page in socket_pages.pages:
		assert page.applied == expected_seqs(page.initial, first_seq), page.applied
		assert page.resyncs == 0
	for page in browser_pages:
		assert_every_count_once_in_order(page, first_seq)

	# The pages the kill disconnected were the killed server's; all the others stayed on the survivor.
	moved_browsers = [d for d in (p.evaluate("window.disconnectedAt") for p in browser_pages) if d]
	moved = [p.disconnects for p in socket_pages.pages if p.disconnects] + moved_browsers
	total = SOCKET_PAGES + BROWSER_PAGES
	assert 0 < len(moved) < total, f"{len(moved)} of {total} pages were on {KILLED}: not spread over both"
	assert moved_browsers, f"no browser page was on {KILLED}"
	assert all(at[0] < first_seq + 99 for at in moved), (
		f"a page was cut off only after the last count: {moved}"
	)
	moved_sockets = [p for p in socket_pages.pages if p.disconnects]
	outages = [f"{outage:.2f}" for p in moved_sockets for outage in sorted(p.outages)]
	print(
		f"\n{total} pages ({BROWSER_PAGES} in a browser), {len(moved)} on {KILLED} "
		f"({len(moved_browsers)} in a browser), cut off at counts {sorted(at[0] - first_seq for at in moved)}; "
		f"their sockets were back after {outages} s and caught up {[p.replayed for p in moved_sockets]} events; "
		f"every socket page had all 100 counts {sockets_done:.1f}s after the kill"
	)


DESK_PASSWORD = "Wvk-desk-scale-7!"


def test_frappes_own_desk_gets_a_socket_through_two_socket_servers(
	two_socket_servers, browser, editor, stack
):
	"""Stock socket.io clients start with long-polling: every request of one session must reach
	the server that made it, or each poll after the handshake is "Session ID unknown" (400)."""
	me = editor._ok(editor.http.get(f"{editor.url}/api/method/frappe.auth.get_logged_user"))["message"]
	stack.site_output(["webview", "ensure-user", "--email", me, "--password", DESK_PASSWORD])
	for _session in range(3):  # new sessions: each lands by its own key
		context = browser.new_context(base_url=stack.url)
		try:
			desk = context.new_page()
			assert desk.request.post("/api/method/login", form={"usr": me, "pwd": DESK_PASSWORD}).ok
			desk.goto("/app")
			desk.wait_for_function(
				"() => window.frappe?.realtime?.socket?.io?.engine?.transport?.name === 'websocket'"
				" && frappe.realtime.socket.connected",
				timeout=30_000,
			)
		finally:
			context.close()
