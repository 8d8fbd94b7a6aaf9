"""Attacks from outside, through the front: a scoped session's socket, foreign origins, injected script.

Each test holds what an intruder would (a session redeemed for the count page, a page of
another origin, a link previewer) and sends what should get past a guard.
"""

from __future__ import annotations

import json
import queue
import re

import pytest
import requests
import socketio
import websocket
from playwright.sync_api import Page, expect
from webview import open_webview

from stack.chromium import wait_until

TASK = "Webview Demo Task"
SECRET_EVENT = "e2e.secret"
MARKER_EVENT = "e2e.marker"
SETTLE = 2  # seconds for a refused subscribe to have been refused: the negative case has no signal


def signed_in(link: str) -> requests.Session:
	"""A client that opened `link` (and so holds its scoped session) and rendered the page."""
	http = requests.Session()
	response = http.get(link, timeout=30)
	assert response.status_code == 200 and "sid" in http.cookies, response.status_code
	return http


def connect(stack, http: requests.Session) -> tuple[socketio.Client, queue.Queue]:
	"""A socket.io client on the site's namespace with `http`'s session; every event lands in the queue."""
	received: queue.Queue = queue.Queue()
	namespace = f"/{stack.site}"
	client = socketio.Client(reconnection=False)
	client.on("*", lambda event, data=None: received.put((event, data)), namespace=namespace)
	headers = {"Cookie": f"sid={http.cookies['sid']}"}
	client.connect(
		stack.url, headers=headers, transports=["websocket"], namespaces=[namespace], wait_timeout=15
	)
	return client, received


def publish(stack, room: str, event: str, data: dict) -> None:
	kwargs = json.dumps({"room": room, "event": event, "data": data})
	stack.site_output(["execute", "webview_kit.publish.publish", "--kwargs", kwargs])


def events_until_marker(received: queue.Queue) -> list[str]:
	"""Events received up to the marker; publishing is ordered, so anything before it came first."""
	seen = []
	while True:
		event, _data = received.get(timeout=15)
		if event == MARKER_EVENT:
			return seen
		seen.append(event)


@pytest.fixture
def readable_task(stack, user) -> str:
	"""A task shared with the test's user: readable, but not what a count page shows."""
	return stack.site_output(["webview", "task", "--user", user, "--title", "Not on this page"]).split()[-1]


@pytest.mark.parametrize("subscribe", ["doc_subscribe", "doc_open"])
def test_a_count_pages_socket_cannot_join_another_documents_room(
	stack, accounts, user, readable_task, subscribe
):
	http = signed_in(accounts.link(user))
	client, received = connect(stack, http)
	try:
		client.emit(subscribe, (TASK, readable_task), namespace=f"/{stack.site}")
		client.emit("doctype_subscribe", TASK, namespace=f"/{stack.site}")
		client.sleep(SETTLE)
		publish(stack, f"doc:{TASK}/{readable_task}", SECRET_EVENT, {"secret": 1})
		publish(stack, f"user:{user}", MARKER_EVENT, {})

		assert SECRET_EVENT not in events_until_marker(received)
	finally:
		client.disconnect()


def test_a_document_pages_socket_joins_its_own_document(stack, accounts, user, readable_task):
	link = accounts.link(user, route="/webview/document", params={"name": readable_task})
	client, received = connect(stack, signed_in(link))
	try:
		client.emit("doc_subscribe", (TASK, readable_task), namespace=f"/{stack.site}")
		client.sleep(SETTLE)
		publish(stack, f"doc:{TASK}/{readable_task}", SECRET_EVENT, {"secret": 1})
		publish(stack, f"user:{user}", MARKER_EVENT, {})

		assert SECRET_EVENT in events_until_marker(received), "the control: its own room is joined"
	finally:
		client.disconnect()


def websocket_handshake(stack, http: requests.Session, origin: str) -> websocket.WebSocket:
	url = stack.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
	return websocket.create_connection(url, origin=origin, cookie=f"sid={http.cookies['sid']}", timeout=15)


def test_a_socket_from_another_origin_is_refused(stack, accounts, user):
	http = signed_in(accounts.link(user))
	with pytest.raises(websocket.WebSocketBadStatusException) as refused:
		websocket_handshake(stack, http, origin="http://evil.example")
	assert refused.value.status_code == 403
	polling = f"{stack.url}/socket.io/?EIO=4&transport=polling"
	assert http.get(polling, headers={"Origin": "http://evil.example"}, timeout=15).status_code == 403

	websocket_handshake(stack, http, origin=stack.url).close()
	assert http.get(polling, headers={"Origin": stack.url}, timeout=15).text.startswith("0{")


def test_a_json_body_does_not_open_another_page(stack, accounts, user):
	http = signed_in(accounts.link(user))
	response = http.get(
		f"{stack.url}/webview/list?wvt=x",
		data=json.dumps({"doctype": TASK}),
		headers={"Content-Type": "application/json"},
		allow_redirects=False,
		timeout=30,
	)
	assert response.status_code == 401 and 'data-link-error="malformed"' in response.text
	assert "data-live-list" not in response.text


def test_head_leaves_a_link_unopened(stack, accounts, user):
	link = accounts.link(user)
	head = requests.head(link, allow_redirects=False, timeout=30)
	assert head.status_code != 303
	assert not re.search(r"sid=(?!Guest)", head.headers.get("set-cookie", ""))
	assert requests.get(link, allow_redirects=False, timeout=30).status_code == 303


def test_administrator_has_no_default_password(stack):
	response = requests.post(
		f"{stack.url}/api/method/login", data={"usr": "Administrator", "pwd": "admin"}, timeout=30
	)
	assert response.status_code == 401


VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.violations.push(e.violatedDirective));
"""


def test_the_page_breaks_no_policy_and_an_injected_script_does_not_run(page: Page, deep_link):
	page.add_init_script(VIOLATIONS)
	open_webview(page, deep_link)
	assert page.evaluate("window.violations") == []

	page.evaluate(
		"""() => {
			const script = document.createElement("script");
			script.textContent = "window.injected = true";
			document.body.append(script);
		}"""
	)

	wait_until(page, "window.violations.length > 0")
	assert page.evaluate("window.violations")[0].startswith("script-src")
	assert page.evaluate("window.injected") is None
	expect(page.locator("body")).to_have_attribute("data-realtime", "live")
