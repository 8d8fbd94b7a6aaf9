"""Every webview applies every event once, in order, across late connects, outages and gaps."""

import time

import pytest
from playwright.sync_api import Page, expect
from webview import applied, assert_every_count_once_in_order, expect_realtime, open_webview, wait_for_count


def test_events_published_while_the_page_loads_are_all_applied(page: Page, deep_link, start_publisher):
	publisher = start_publisher(interval=0.01)

	publisher.go()
	page.goto(deep_link)

	expect(page.get_by_test_id("count")).to_have_text("99", timeout=30_000)
	publisher.wait()
	assert_every_count_once_in_order(page, publisher.first_seq)


@pytest.mark.usefixtures("one_socket_server")
@pytest.mark.parametrize("outage", [2, 15], ids=["2s", "15s"])
def test_socket_server_restart_loses_nothing(page: Page, deep_link, start_publisher, stack, outage):
	open_webview(page, deep_link)
	publisher = start_publisher(interval=0.02)
	publisher.go()
	wait_for_count(page, 30)

	stack.kill("socketio-0")
	try:
		expect_realtime(page, "reconnecting")
		time.sleep(outage)  # the outage itself, not a wait for readiness
	finally:
		stack.restart("socketio-0")

	expect(page.get_by_test_id("count")).to_have_text("99", timeout=30_000)
	expect_realtime(page, "live")
	publisher.wait()
	assert_every_count_once_in_order(page, publisher.first_seq)


def test_three_seconds_offline_loses_nothing(page: Page, deep_link, start_publisher):
	open_webview(page, deep_link)
	publisher = start_publisher(interval=0.02)
	publisher.go()
	wait_for_count(page, 30)

	page.context.set_offline(True)
	try:
		expect_realtime(page, "offline")
		time.sleep(3)  # the time spent offline
	finally:
		page.context.set_offline(False)

	expect(page.get_by_test_id("count")).to_have_text("99", timeout=30_000)
	expect_realtime(page, "live")
	publisher.wait()
	assert_every_count_once_in_order(page, publisher.first_seq)


@pytest.fixture
def short_history(site_setting):
	"""Keep only 10 events of history per room while the test runs."""
	site_setting("webview_history_length", 10)
	return 10


@pytest.mark.usefixtures("one_socket_server")
def test_a_gap_longer_than_history_resyncs_to_the_latest_state(
	page: Page, short_history, deep_link, start_publisher, stack
):
	open_webview(page, deep_link)
	# Slow enough that far more than 10 events follow the kill even where killing takes a
	# second (`docker compose kill`), not only where it is a signal.
	publisher = start_publisher(interval=0.05)
	publisher.go()
	wait_for_count(page, 30)

	stack.kill("socketio-0")
	try:
		expect_realtime(page, "reconnecting")
		publisher.wait()  # far more than 10 events go by while the page cannot hear them
	finally:
		stack.restart("socketio-0")

	expect(page.get_by_test_id("count")).to_have_text("99", timeout=30_000)
	expect_realtime(page, "live")
	log = applied(page)
	resyncs = [entry for entry in log if entry[1] == "resync"]
	assert len(resyncs) == 1 and resyncs[0][2] == publisher.first_seq + 99, log
	applied_seqs = [entry[1] for entry in log if entry[1] != "resync"]
	assert applied_seqs == sorted(set(applied_seqs)), "still in order and never twice"


def test_a_queue_redis_restart_resyncs_the_page_and_the_count_goes_on(
	page: Page, deep_link, start_publisher, stack
):
	open_webview(page, deep_link)
	publisher = start_publisher(interval=0.02)
	publisher.go()
	wait_for_count(page, 30)

	stack.kill("redis-queue")  # history, sequences and the events channel go with it
	try:
		expect_realtime(page, "reconnecting")  # Frappe's socket server exits with its Redis
		time.sleep(1)  # the outage
	finally:
		stack.restart("redis-queue")

	# The socket server is started again, the publisher's retries carry the count on, and
	# the page, finding its room's history restarted (a new epoch), resyncs once.
	expect(page.get_by_test_id("count")).to_have_text("99", timeout=30_000)
	expect_realtime(page, "live")
	publisher.wait()
	log = applied(page)
	resyncs = [i for i, entry in enumerate(log) if entry[1] == "resync"]
	assert len(resyncs) == 1, log
	before, after = log[: resyncs[0]], log[resyncs[0] + 1 :]
	head = log[resyncs[0]][2]
	assert [seq for _room, seq in before] == list(range(before[0][1], before[0][1] + len(before))), log
	assert [seq for _room, seq in after] == list(range(head + 1, head + 1 + len(after))), log
