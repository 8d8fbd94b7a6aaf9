"""The WebKit lane: the kit's promises in the engine of every iOS WebView.

WebKitGTK driven through WebDriver (e2e/engines.py). The checks are the Chromium
suite's own (webview.py, test_actions.py, test_fragments.py); what differs is how the
page is driven. WebDriver has no offline switch: outages are made on the stack, by
killing or freezing (SIGSTOP) one of its processes.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager

import pytest
from engines import WebKitPage
from mobile import TASK, link
from test_actions import COMMENT, ROUTE, comments
from webview import assert_every_count_once_in_order, count_frames

pytestmark = pytest.mark.webkit

EVENT_TIMEOUT = 15_000
COUNT_TIMEOUT = 30_000

# Every frame the page's WebSocket receives from here on, as Playwright's `framereceived` has them.
RECORD_FRAMES = """() => {
	window.__frames = [];
	webviewKit.socket.ws.addEventListener("message", (event) => __frames.push(String(event.data)));
}"""


def wait_for_count(page: WebKitPage, at_least: int) -> None:
	page.wait_for_text(
		"count", re.compile(rf"^({'|'.join(str(n) for n in range(at_least, 100))})$"), COUNT_TIMEOUT
	)


# -- the mission ----------------------------------------------------------------------
def test_a_deep_link_in_webkit_counts_to_99_over_its_websocket(webkit, deep_link, start_publisher):
	webkit.open_live(deep_link)
	assert webkit.evaluate("webviewKit.socket.ws.url").startswith("ws://")
	webkit.evaluate(RECORD_FRAMES)
	publisher = start_publisher(interval=0.015)

	publisher.go()

	webkit.wait_for_text("count", "99", COUNT_TIMEOUT)
	publisher.wait()
	assert count_frames(webkit.evaluate("__frames")) == list(range(100)), "every count, as a WebSocket frame"
	assert_every_count_once_in_order(webkit, publisher.first_seq)


# -- outages ---------------------------------------------------------------------------
@contextmanager
def counting_to_99(webkit: WebKitPage, deep_link: str, start_publisher):
	"""A live page a third of the way to 99 while the block runs; after it, at 99 and live again
	with every count once and in order."""
	webkit.open_live(deep_link)
	publisher = start_publisher(interval=0.02)
	publisher.go()
	wait_for_count(webkit, 30)
	yield
	webkit.wait_for_text("count", "99", COUNT_TIMEOUT)
	webkit.wait_for_realtime("live")
	publisher.wait()
	assert_every_count_once_in_order(webkit, publisher.first_seq)


@pytest.mark.usefixtures("one_socket_server")
def test_a_socket_server_restart_in_webkit_loses_nothing(webkit, deep_link, start_publisher, stack):
	with counting_to_99(webkit, deep_link, start_publisher):
		stack.kill("socketio-0")
		try:
			webkit.wait_for_realtime("reconnecting")
			time.sleep(2)  # the outage itself, not a wait for readiness
		finally:
			stack.restart("socketio-0")


def test_a_front_frozen_for_three_seconds_in_webkit_loses_nothing(webkit, deep_link, start_publisher, stack):
	with counting_to_99(webkit, deep_link, start_publisher):
		stack.freeze("nginx")  # every connection through the front stays open, and nothing moves
		try:
			time.sleep(3)  # the stall itself
		finally:
			stack.thaw("nginx")


# -- actions ---------------------------------------------------------------------------
@pytest.fixture
def task(editor, webkit_user) -> str:
	"""A fresh Open demo task Ana may write, deleted afterwards."""
	name = editor.create("Check the delivery")
	share = {"doctype": TASK, "name": name, "user": webkit_user, "read": 1, "write": 1}
	editor._ok(editor.http.post(f"{editor.url}/api/method/frappe.share.add", data=share))
	yield name
	editor.delete(name)


def send_comment(page: WebKitPage, text: str, double: bool = False) -> None:
	"""Type and send a comment once the form takes input again, as Playwright's `fill` waits to.

	A comment shows over the socket before its action answers, and the form stays disabled until then.
	"""
	page.wait_for("document.querySelector('[data-testid=comment-form]').getAttribute('aria-busy') !== 'true'")
	page.type("[data-testid=comment-text]", text)
	(page.double_click if double else page.click)("[data-testid=comment-send]")


def test_a_double_tap_and_a_tap_across_an_outage_in_webkit_each_run_once(
	webkit, accounts, editor, webkit_user, task, stack
):
	webkit.open_live(link(accounts, webkit_user, ROUTE, doctype=TASK, name=task), ROUTE)

	send_comment(webkit, "double tap", double=True)
	webkit.wait_for("document.querySelector('[data-testid=comments]').textContent.includes('double tap')")

	stack.kill("web")  # the front answers 502: the tap's fate is unknown, so the page retries
	try:
		send_comment(webkit, "across the outage")
		webkit.wait_for_text("comment-status", "Sending…")
		assert webkit.attribute("[data-testid=comment-form]", "aria-busy") == "true"
	finally:
		stack.restart("web")

	webkit.wait_for(
		"document.querySelector('[data-testid=comments]').textContent.includes('across the outage')",
		EVENT_TIMEOUT,
	)
	webkit.wait_for_text("comment-status", "")
	assert webkit.attribute("[data-testid=comment-form]", "aria-busy") == "false"
	assert comments(editor, task, "double tap") == 1
	assert comments(editor, task, "across the outage") == 1
	answers = webkit.evaluate(
		"""(args) => { const id = "retry-" + crypto.getRandomValues(new Uint32Array(4)).join("");
			return Promise.all([1, 2, 3].map(() => webviewKit.act(args.action, args.args, {id}))); }""",
		{"action": COMMENT, "args": {"doctype": TASK, "name": task, "text": "three retries"}},
	)
	assert len({answer["name"] for answer in answers}) == 1, answers
	assert comments(editor, task, "three retries") == 1


# -- fragments -------------------------------------------------------------------------
def test_what_the_user_types_in_webkit_survives_twenty_morphs_around_it(
	webkit, accounts, webkit_user, orders
):
	order = orders.create("Café Lumen", webkit_user)
	webkit.open_live(link(accounts, webkit_user, "/webview/order", name=order), "/webview/order")
	webkit.click("#wvk-order-more > summary")
	webkit.evaluate("window.scrollTo(0, 120)")
	note = "[data-testid=order-note]"
	webkit.click(note)
	webkit.type(note, "Leave it with Sam")
	webkit.evaluate_on(note, "(el) => el.setSelectionRange(5, 5)")
	scrolled = webkit.evaluate("scrollY")

	orders.log(order, 20)  # twenty saves: the status card around the input is re-rendered each time
	webkit.wait_for_text("order-updates", "21", EVENT_TIMEOUT)

	assert webkit.evaluate("document.activeElement.id") == "wvk-order-note"
	assert webkit.evaluate_on(note, "(el) => [el.value, el.selectionStart, el.selectionEnd]") == [
		"Leave it with Sam",
		5,
		5,
	]
	assert webkit.evaluate_on("#wvk-order-more", "(el) => el.open")
	assert webkit.evaluate("scrollY") == scrolled
	webkit.keys("!")  # the caret is where it was: the next key lands there
	assert webkit.evaluate_on(note, "(el) => el.value") == "Leave! it with Sam"
