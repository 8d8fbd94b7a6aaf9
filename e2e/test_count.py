"""The count webview, reached through a deep link, goes live and counts to 99 over socket.io."""

from playwright.sync_api import Page, expect
from webview import applied, assert_every_count_once_in_order, count_frames, open_webview


def test_count_reaches_99_over_the_realtime_connection(page: Page, deep_link, start_publisher):
	frames: list[str] = []
	page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
	open_webview(page, deep_link)
	publisher = start_publisher(interval=0.015)

	publisher.go()

	expect(page.get_by_test_id("count")).to_have_text("99", timeout=30_000)
	publisher.wait()
	assert count_frames(frames) == list(range(100)), "every count must arrive as a WebSocket frame"
	assert_every_count_once_in_order(page, publisher.first_seq)


def test_count_from_a_background_job_reaches_99(page: Page, deep_link, user, stack):
	open_webview(page, deep_link)

	stack.site_output(["webview", "count", "--user", user, "--interval", "0.01", "--enqueue"])

	expect(page.get_by_test_id("count")).to_have_text("99", timeout=60_000)
	seqs = [seq for _room, seq in applied(page)]
	assert len(seqs) == 100 and seqs == list(range(seqs[0], seqs[0] + 100))
