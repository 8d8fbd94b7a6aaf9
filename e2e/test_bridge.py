"""The native bridge: what the page posts to each kind of host app, and the host's commands it handles.

Each host is played by the object its platform injects before the page loads: WKWebView's
`window.webkit.messageHandlers.<name>`, Android's `addJavascriptInterface` object, React
Native WebView's `window.ReactNativeWebView`. They record what they are given, as is.
"""

from __future__ import annotations

import json
import re

import pytest
from mobile import EVENT_TIMEOUT, link, open_page
from playwright.sync_api import Page, expect

from stack.chromium import wait_until

pytestmark = pytest.mark.phones  # every browser test once per phone

# Each host keeps [typeof what it was given, the message]: iOS gets objects, the others JSON.
HOSTS = {
	"ios": "window.webkit = { messageHandlers: { webviewKit: { postMessage: (m) => __posted.push([typeof m, m]) } } };",
	"android": "window.WebviewKitAndroid = { postMessage: (m) => __posted.push([typeof m, JSON.parse(m)]) };",
	"react-native": "window.ReactNativeWebView = { postMessage: (m) => __posted.push([typeof m, JSON.parse(m)]) };",
}
POSTED_AS = {"ios": "object", "android": "string", "react-native": "string"}


@pytest.fixture(params=list(HOSTS))
def host(request, page: Page) -> str:
	"""The host app this page runs in, injected before any of the page's scripts."""
	page.add_init_script("window.__posted = [];" + HOSTS[request.param])
	return request.param


def posted(page: Page, host: str, type_: str) -> list[dict]:
	"""Payloads of the messages of `type_` the page posted, once there is at least one."""
	wait_until(page, f"__posted.some(([, m]) => m.type === {json.dumps(type_)})", timeout=EVENT_TIMEOUT)
	messages = page.evaluate("__posted")
	assert {kind for kind, _message in messages} == {POSTED_AS[host]}, messages
	return [message["payload"] for _kind, message in messages if message["type"] == type_]


def send_command(page: Page, host: str, command: dict) -> None:
	"""Deliver `command` as that host's app would."""
	if host == "react-native":
		# webView.postMessage(json): a message event, on document under Android.
		page.evaluate(
			"(json) => document.dispatchEvent(new MessageEvent('message', { data: json }))",
			json.dumps(command),
		)
	elif host == "android":
		page.evaluate("(json) => webviewKit.bridge.receive(json)", json.dumps(command))  # evaluateJavascript
	else:
		page.evaluate("(command) => webviewKit.bridge.receive(command)", command)  # evaluateJavaScript


@pytest.fixture
def task(editor, ana):
	name = editor.create("Return the pallets", share_with=(ana,))
	yield name
	editor.delete(name)


def test_page_tells_the_host_it_is_ready_and_live(page: Page, host, accounts, ana, task):
	open_page(page, link(accounts, ana, "/webview/list"), "/webview/list")

	ready = posted(page, host, "ready")
	assert len(ready) == 1 and ready[0]["route"] == "/webview/list"
	assert {"state": "live"} in posted(page, host, "realtime")
	assert page.evaluate("webviewKit.bridge.host") == host
	expect(page.locator("html")).to_have_attribute("data-host", host)


def test_tapping_a_row_asks_the_host_to_navigate(page: Page, host, accounts, ana, task):
	open_page(page, link(accounts, ana, "/webview/list"), "/webview/list")

	page.locator(f"[data-name='{task}'] a").click()

	[navigate] = posted(page, host, "navigate")
	assert navigate["route"] == "/webview/document"
	assert navigate["params"] == {"doctype": "Webview Demo Task", "name": task}
	assert navigate["url"].endswith(f"/webview/document?doctype=Webview%20Demo%20Task&name={task}")
	expect(page).to_have_url(re.compile(r"/webview/list$"))


def test_done_asks_the_host_to_close(page: Page, host, accounts, ana, task):
	open_page(page, link(accounts, ana, "/webview/document", name=task), "/webview/document")

	page.get_by_test_id("done").click()

	assert posted(page, host, "close") == [{}]


def test_host_commands_are_handled_and_answered(page: Page, host, accounts, ana, task):
	open_page(page, link(accounts, ana, "/webview/document", name=task), "/webview/document")
	page.evaluate("webviewKit.bridge.on('greet', ({ name }) => `hello ${name}`)")

	send_command(page, host, {"type": "theme", "payload": {"scheme": "dark"}, "id": 1})
	send_command(page, host, {"type": "greet", "payload": {"name": "app"}, "id": 2})
	send_command(page, host, {"type": "no-such-command", "id": 3})

	expect(page.locator("html")).to_have_attribute("data-theme", "dark")
	wait_until(page, "__posted.filter(([, m]) => m.type === 'reply').length === 3", timeout=EVENT_TIMEOUT)
	replies = {reply["id"]: reply for reply in posted(page, host, "reply")}
	assert replies[1] == {"id": 1, "ok": True, "result": "dark"}
	assert replies[2] == {"id": 2, "ok": True, "result": "hello app"}
	assert replies[3]["ok"] is False and "no-such-command" in replies[3]["error"]


def test_reconnect_command_brings_a_dropped_page_back(page: Page, host, accounts, ana, task):
	open_page(page, link(accounts, ana, "/webview/document", name=task), "/webview/document")
	page.evaluate("webviewKit.socket.disconnect()")  # as when the app was in the background
	expect(page.locator("body")).to_have_attribute("data-realtime", "reconnecting")

	send_command(page, host, {"type": "reconnect"})

	expect(page.locator("body")).to_have_attribute("data-realtime", "live", timeout=EVENT_TIMEOUT)


def test_in_a_plain_browser_the_bridge_does_nothing(page: Page, accounts, ana, task):
	open_page(page, link(accounts, ana, "/webview/list"), "/webview/list")

	assert page.evaluate("webviewKit.bridge.host") == "browser"
	assert page.evaluate("webviewKit.bridge.send('ready')") is False
	assert page.locator("html").get_attribute("data-host") is None

	page.locator(f"[data-name='{task}'] a").click()  # an ordinary link again

	expect(page).to_have_url(re.compile(rf"/webview/document\?name={task}$"))
