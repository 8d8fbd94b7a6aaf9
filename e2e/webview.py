"""What the tests read off a webview page: its realtime state and applied events."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

LIVE_TIMEOUT = 15_000


def open_webview(page: Page, link: str) -> None:
	"""Open a deep link as the app would and wait until the page is live."""
	page.goto(link)
	expect(page).to_have_url(re.compile(r"/webview/count$"))
	expect(page.locator("body")).to_have_attribute("data-realtime", "live", timeout=LIVE_TIMEOUT)


def wait_for_count(page: Page, at_least: int) -> None:
	"""Wait until the count page shows `at_least` or more.

	A text match, not wait_for_function: that polls by evaluating a string, which the page's
	policy forbids.
	"""
	at_least_pattern = re.compile("^(" + "|".join(str(n) for n in range(at_least, 100)) + ")$")
	expect(page.get_by_test_id("count")).to_have_text(at_least_pattern, timeout=30_000)


def expect_realtime(page: Page, state: str, timeout: float = 10_000) -> None:
	expect(page.locator("body")).to_have_attribute("data-realtime", state, timeout=timeout)


def applied(page: Page) -> list:
	"""[room, seq] pairs the page applied, in order ([room, "resync", head] for a resync)."""
	return page.evaluate("window.webviewKit.applied")


def initial_seq(page: Page) -> int:
	return next(iter(page.evaluate("window.webviewKit.initial").values()))


def assert_every_count_once_in_order(page: Page, first_seq: int) -> None:
	"""The page applied every count event after the state it rendered, once each, in order.

	Count n has sequence `first_seq + n`; counts published before the page rendered
	are part of its rendered state, not applied again.
	"""
	seqs = [seq for _room, seq in applied(page)]
	start = max(initial_seq(page) + 1, first_seq)
	assert seqs == list(range(start, first_seq + 100)), seqs


def count_frames(frames: list[str]) -> list[int]:
	"""Count values carried by socket.io event frames (`42/<ns>,["webview_kit.count",{...}]`)."""
	values = []
	for frame in frames:
		match = re.match(r"^42/[^,]+,(.*)$", frame)
		if match:
			event, envelope = json.loads(match.group(1))[:2]
			if event == "webview_kit.count":
				values.append(envelope["data"]["count"])
	return values
