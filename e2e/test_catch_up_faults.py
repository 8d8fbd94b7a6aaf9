"""A catch-up that fails, or hangs, on connect is asked again: the page goes live and shows every value.

The faults are the browser's network, not a stand-in for the stack: Playwright answers the
page's first catch-up request with a gateway error, or never answers it; every later request
goes to the real stack.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, Route, expect
from webview import applied, expect_realtime, initial_seq

CATCH_UP = re.compile(r"/api/method/webview_kit\.api\.catch_up\?")
# realtime.js gives a catch-up request this long (CATCH_UP_TIMEOUT) before asking again.
CATCH_UP_TIMEOUT = 10_000


def count(stack, user: str, upto: int) -> None:
	stack.site_output(["webview", "count", "--user", user, "--upto", str(upto), "--interval", "0"])


def first_catch_up(page: Page, fault) -> list[Route]:
	"""Route the page's catch-ups: `fault(route)` for the first, the real stack for the others."""
	seen: list[Route] = []

	def handle(route: Route) -> None:
		seen.append(route)
		if len(seen) == 1:
			fault(route)
		else:
			route.continue_()

	page.route(CATCH_UP, handle)
	return seen


def assert_every_event_once_in_order(page: Page, events: int) -> None:
	seqs = [seq for _room, seq in applied(page)]
	assert seqs == list(range(initial_seq(page) + 1, initial_seq(page) + 1 + events)), seqs


def test_a_first_catch_up_answered_with_a_gateway_error_is_retried(page: Page, deep_link, user, stack):
	seen = first_catch_up(page, lambda route: route.fulfill(status=502, body="Bad Gateway"))

	page.goto(deep_link)

	expect_realtime(page, "live")
	assert len(seen) == 2
	count(stack, user, 5)
	expect(page.get_by_test_id("count")).to_have_text("5")
	assert_every_event_once_in_order(page, 6)


def test_a_first_catch_up_that_never_answers_is_given_up_and_asked_again(page: Page, deep_link, user, stack):
	seen = first_catch_up(page, lambda route: None)  # held: no answer, ever

	page.goto(deep_link)
	expect(page.locator("body")).to_have_attribute("data-realtime", "connecting")
	count(stack, user, 4)  # events that arrive live while the page waits are kept

	expect_realtime(page, "live", timeout=CATCH_UP_TIMEOUT * 3)
	expect(page.get_by_test_id("count")).to_have_text("4")
	assert len(seen) == 2
	assert_every_event_once_in_order(page, 5)


def test_a_reconnect_during_a_hung_catch_up_is_not_held_up_by_it(page: Page, deep_link, user, stack):
	seen = first_catch_up(page, lambda route: None)
	page.goto(deep_link)
	expect(page.locator("body")).to_have_attribute("data-realtime", "connecting")
	count(stack, user, 3)

	page.evaluate("webviewKit.socket.disconnect().connect()")

	expect_realtime(page, "live", timeout=CATCH_UP_TIMEOUT * 3)
	expect(page.get_by_test_id("count")).to_have_text("3")
	assert len(seen) >= 2
	assert_every_event_once_in_order(page, 4)
