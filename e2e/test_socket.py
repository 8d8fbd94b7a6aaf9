"""The page's own Socket.IO client (socket.js) where socket.io's semantics decide what a page does.

Frappe's socket server keeps socket.io's default heartbeat: a ping every 25 s, and 20 s for
the answer. Its auth middleware refuses a namespace (a CONNECT_ERROR packet) when it
cannot tell whose session a socket carries; the page then asks the web server itself.
"""

import pytest
from playwright.sync_api import Page, expect
from webview import assert_every_count_once_in_order, expect_realtime, open_webview, wait_for_count

from stack.swarm import SwarmStack

PING_INTERVAL, PING_TIMEOUT = 25, 20  # seconds, socket.io's defaults
SESSION_CHECK = "/api/method/frappe.auth.get_logged_user"


@pytest.mark.usefixtures("one_socket_server")
def test_a_frozen_socket_server_is_noticed_by_the_ping_timeout_and_nothing_is_lost(
	page: Page, deep_link, start_publisher, stack
):
	open_webview(page, deep_link)
	publisher = start_publisher(interval=0.02)
	publisher.go()
	wait_for_count(page, 30)

	stack.freeze("socketio-0")  # its connections stay open: only the missing pings tell
	try:
		# Within the ping window, well before the front's 120 s read timeout would close it.
		expect_realtime(page, "reconnecting", timeout=(PING_INTERVAL + PING_TIMEOUT + 10) * 1000)
		publisher.wait()  # the rest of the count goes by while the server hears nothing
	finally:
		stack.thaw("socketio-0")

	expect(page.get_by_test_id("count")).to_have_text("99", timeout=60_000)
	expect_realtime(page, "live")
	assert_every_count_once_in_order(page, publisher.first_seq)


@pytest.mark.usefixtures("one_socket_server")
def test_a_socket_refused_for_want_of_a_session_ends_the_page(page: Page, deep_link, stack):
	# A live page joins presence at once; were that answer still on its way when the cookies
	# go, it would bring the session cookie back.
	with page.expect_response(lambda response: "presence_join" in response.url):
		open_webview(page, deep_link)
	page.context.clear_cookies()  # the app signed its user out and cleared the webview's cookies

	stack.kill("socketio-0")
	try:
		expect_realtime(page, "reconnecting")
	finally:
		stack.restart("socketio-0")

	# The server refuses the cookie-less socket; the page finds it has no session and ends.
	expect_realtime(page, "ended", timeout=30_000)
	expect(page.get_by_test_id("realtime-banner")).to_contain_text("session has ended")


@pytest.mark.usefixtures("one_socket_server")
def test_refusals_while_the_web_server_is_down_are_retried_until_it_is_back(
	page: Page, deep_link, start_publisher, stack
):
	if isinstance(stack, SwarmStack):
		pytest.skip(
			"Swarm replaces a killed backend task within seconds (its restart policy), so the web "
			"server cannot be held down while the page loops; the swarm's web-server outage is "
			"test_deploys.py's backend roll"
		)
	open_webview(page, deep_link)
	publisher = start_publisher(interval=0.02)
	publisher.go()
	wait_for_count(page, 30)

	# Without the web server the socket server cannot check a session: it refuses every page.
	stack.kill("web")
	try:
		stack.kill("socketio-0")
		stack.restart("socketio-0")
		# Each refusal stops the client's own retries; the page checks its session (the web
		# server is down, so it may still be valid) and connects again: twice shows the loop.
		for _ in range(2):
			with page.expect_response(lambda r: SESSION_CHECK in r.url and r.status == 502, timeout=30_000):
				pass
		expect_realtime(page, "reconnecting")
		publisher.wait()
	finally:
		stack.restart("web")

	expect(page.get_by_test_id("count")).to_have_text("99", timeout=30_000)
	expect_realtime(page, "live")
	assert_every_count_once_in_order(page, publisher.first_seq)
