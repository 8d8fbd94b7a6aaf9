"""A deploy loses nothing: pages counting through a rolling update of every socket server, or
of every web server, get every count once, in order, and no request through the front fails.

A deploy here is the orchestrator's own (`docker service update --force` on the swarm: one
replica at a time, start-first, health-checked), not a container killed by the test. Stacks
that have no rolling update (native, compose) skip these with the reason.
"""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from socket_pages import SocketPages
from webview import assert_every_count_once_in_order, open_webview, wait_for_count

from benchmarks.roll import Prober  # the rolling-deploy benchmark's, so both count failures alike
from stack.swarm import SwarmStack

BROWSER_PAGES = 2
SOCKET_PAGES = 10
EVENT = "webview_kit.count"
# Slow enough that the count outlasts a roll of two replicas (each waits for its health check).
INTERVAL = 1.5


@pytest.fixture
def swarm(stack) -> SwarmStack:
	"""The stack, when it rolls its services as an orchestrator does (roll is the swarm's alone)."""
	if not isinstance(stack, SwarmStack):
		pytest.skip(f"{type(stack).__name__} has no rolling update: run with STACK=swarm")
	return stack


@pytest.fixture
def socket_pages(stack):
	pages = SocketPages(stack.url, EVENT)
	yield pages
	pages.close()


class Roll(threading.Thread):
	"""`swarm.roll(service)` on a thread of its own, so the test's thread keeps applying events."""

	def __init__(self, swarm: SwarmStack, service: str):
		super().__init__(daemon=True)
		self.swarm, self.service, self.error = swarm, service, None
		self.start()

	def run(self) -> None:
		try:
			self.swarm.roll(self.service)
		except Exception as error:  # reported on the test's thread
			self.error = error

	@property
	def done(self) -> bool:
		return not self.is_alive()


@pytest.mark.parametrize("service", ["websocket", "backend"])
def test_pages_counting_through_a_rolling_deploy_lose_nothing(
	swarm, service, accounts, user, new_context, socket_pages, start_publisher
):
	browser_pages = [new_context().new_page() for _ in range(BROWSER_PAGES)]
	for page in browser_pages:
		open_webview(page, accounts.link(user))
	for _ in range(SOCKET_PAGES):
		socket_pages.open(accounts.link(user))
	publisher = start_publisher(INTERVAL)
	publisher.go()
	first_seq = publisher.first_seq
	wait_for_count(browser_pages[0], 3)
	prober = Prober(swarm.url)

	roll = Roll(swarm, service)
	socket_pages.run_until(lambda: roll.done, 600, f"the {service} roll")
	http = prober.stop()
	assert roll.error is None, f"the {service} roll failed: {roll.error}"
	assert publisher.process.poll() is None, "the count ended before the roll did: nothing was tested"
	socket_pages.run_until(
		lambda: all(p.seq >= first_seq + 99 for p in socket_pages.pages), 240, "every socket page at 99"
	)
	publisher.wait(240)

	for page in browser_pages:
		expect(page.get_by_test_id("count")).to_have_text("99", timeout=60_000)
		expect(page.locator("body")).to_have_attribute("data-realtime", "live")
		assert_every_count_once_in_order(page, first_seq)
	for page in socket_pages.pages:
		start = max(page.initial + 1, first_seq)
		assert page.applied == list(range(start, first_seq + 100)), page.applied
		assert page.resyncs == 0
	if service == "websocket":
		cut_off = [p for p in socket_pages.pages if p.disconnects]
		assert len(cut_off) == SOCKET_PAGES, "every socket server was replaced, so every socket moved"
		assert all(p.disconnects[0] < first_seq + 99 for p in cut_off), "cut off only after the last count"
	assert http["failed"] == 0, f"requests through the front failed: {http}"
