"""A document room joined after the catch-up answered still gets what was published in between.

Frappe v15's `doc_subscribe` says nothing once the socket joined, so a page used to catch up
and go live while its join was still under way, and an event published in that window came
only with the room's next event. To open the window wide, Playwright holds the page's
`doc_subscribe` frame (the browser's own WebSocket, routed; the stack is real) until the
catch-up has answered and an editor has saved the document.
"""

from __future__ import annotations

import re

import pytest
from mobile import EVENT_TIMEOUT, link
from playwright.sync_api import Page, WebSocketRoute, expect
from webview import expect_realtime

SOCKET = re.compile(r"/socket\.io/")
CATCH_UP = re.compile(r"/api/method/webview_kit\.api\.catch_up\?")


class HeldJoins:
	"""The page's WebSockets, relayed to the real socket server, with `doc_subscribe` held back."""

	def __init__(self, page: Page):
		self.held: list[tuple[WebSocketRoute, str]] = []
		self.holding = True
		page.route_web_socket(SOCKET, self.route)

	def route(self, ws: WebSocketRoute) -> None:
		server = ws.connect_to_server()

		def to_server(message) -> None:
			if self.holding and isinstance(message, str) and '"doc_subscribe"' in message:
				self.held.append((server, message))
			else:
				server.send(message)

		ws.on_message(to_server)

	def release(self) -> None:
		self.holding = False
		for server, message in self.held:
			server.send(message)


@pytest.mark.parametrize("phone", ["iphone"], indirect=True)  # Ana needs a phone
def test_an_event_published_between_the_catch_up_and_the_join_is_applied(page: Page, accounts, ana, editor):
	name = editor.create("Join late", share_with=(ana,), status="Open")
	try:
		joins = HeldJoins(page)
		with page.expect_response(CATCH_UP):
			page.goto(link(accounts, ana, "/webview/document", name=name))
		assert joins.held, "the page asked to join its document's room"

		editor.update(name, status="Working")  # published once saved: the socket is not in the room
		joins.release()

		expect(page.get_by_test_id("field-status")).to_have_text("Working", timeout=EVENT_TIMEOUT)
		expect_realtime(page, "live")
	finally:
		editor.delete(name)
