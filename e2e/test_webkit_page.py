"""The WebKit lane: the page's policy, weight, refusal pages, bridge and looks as WebKit has them.

WebKitGTK through WebDriver (e2e/engines.py). The policy checks are test_attacks.py's,
the weight checks test_page_weight.py's, the bridge's hosts test_bridge.py's, each in the
engine of every iOS WebView.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
from mobile import SCREENSHOTS, TASK, link
from test_actions import ROUTE
from test_attacks import VIOLATIONS
from weight import gzipped

pytestmark = pytest.mark.webkit

BUNDLE = re.compile(r"/assets/webview_kit/dist/js/webview\.bundle\.\w+\.js$")
# The resources the page has loaded so far, as Resource Timing lists them.
RESOURCES = "performance.getEntriesByType('resource').map((e) => [e.initiatorType, e.name])"


def test_webkit_runs_the_pages_own_inline_scripts_and_refuses_an_injected_one(webkit, deep_link):
	webkit.open_live(deep_link)
	# Both inline scripts ran under the policy's hashes: the early socket, adopted, and the bundle.
	assert webkit.evaluate("window.wvkEarlySocket") is None, "set by the early script, taken by the bundle"
	assert webkit.evaluate("typeof window.wvkEarlySocket") == "object"
	assert webkit.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent')").strip()
	webkit.evaluate("() => {" + VIOLATIONS + "}")

	webkit.evaluate(
		"""() => {
			const script = document.createElement("script");
			script.textContent = "window.injected = true";
			document.body.append(script);
			const img = document.createElement("img");
			img.setAttribute("onerror", "window.injectedHandler = true");
			img.src = "data:,";
			document.body.append(img);
		}"""
	)

	webkit.wait_for("window.violations.length >= 2")
	assert all(v.startswith("script-src") for v in webkit.evaluate("window.violations")), webkit.evaluate(
		"window.violations"
	)
	assert webkit.evaluate("window.injected") is None
	assert webkit.evaluate("window.injectedHandler") is None
	assert (
		webkit.evaluate("(() => { try { return eval('1') } catch (e) { return e.name } })()") == "EvalError"
	)
	assert webkit.attribute("body", "data-realtime") == "live"


def test_a_first_page_in_webkit_fetches_no_script_and_the_next_one_gets_the_bundle_from_the_cache(
	webkit, accounts, webkit_user
):
	webkit.open_live(link(accounts, webkit_user, "/webview/count"))
	# Once live, the page fetches its bundle into the cache and says so in a cookie.
	webkit.wait_for("document.cookie.includes('wvk_shell=')")
	assert [name for kind, name in webkit.evaluate(RESOURCES) if kind == "script"] == []
	assert 'src="/assets/' not in webkit.evaluate("document.documentElement.outerHTML")

	webkit.open_live(link(accounts, webkit_user, "/webview/count"))  # the app's next deep link

	bundle = webkit.evaluate("document.querySelector('script[src]').src")
	assert BUNDLE.search(bundle), bundle
	# From WebKit's cache: no entry (its memory cache) or one of 0 bytes transferred, never
	# the 11 KB again. Fetched by fetch(), WebKit kept it for fetch() only and sent it again.
	downloads = webkit.evaluate(
		f"performance.getEntriesByName({json.dumps(bundle)}).map((e) => e.transferSize)"
	)
	assert all(size == 0 for size in downloads), downloads
	body = webkit.evaluate(f"fetch({json.dumps(bundle)}).then((r) => r.text())")
	assert gzipped(body.encode()) <= 20 * 1024


@pytest.mark.parametrize(
	("damage", "reason", "title"),
	[
		(lambda url: url, "used", "This link has already been used"),
		(lambda url: url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"), "altered", None),
		(lambda url: re.sub(r"wvt=[^&]+", "wvt=x", url), "malformed", None),
	],
	ids=["used", "altered", "malformed"],
)
def test_a_refused_link_shows_its_page_in_webkit(webkit, accounts, user, damage, reason, title):
	url = accounts.link(user)
	if reason == "used":
		assert requests.get(url, timeout=30).ok  # opened once, in another webview

	webkit.goto(damage(url))

	assert webkit.attribute("body", "data-link-error") == reason
	if title:
		assert webkit.text("link-error") == title
	assert webkit.evaluate("getComputedStyle(document.body).textAlign") == "center", (
		"its inline style applies"
	)
	assert webkit.evaluate("document.cookie") == "", "no session, not even a Guest one"
	if reason == "used":
		webkit.screenshot(SCREENSHOTS / "link-error-webkit.png")


# -- the native bridge -------------------------------------------------------------------
# WKWebView registers `webkit.messageHandlers.webviewKit` before any of the page's scripts
# run. WebKitGTK's WebDriver cannot do that to MiniBrowser: it has no WebDriver BiDi (no
# script.addPreloadScript: the `webSocketUrl` capability is refused) and no command to
# register a script message handler. So these tests run in stack/webkit-host, a WebKitGTK
# WebView that registers the handler as an iOS app does, and hears what the page posts.
@pytest.fixture
def task(editor, webkit_user):
	name = editor.create("Return the pallets", share_with=(webkit_user,))
	yield name
	editor.delete(name)


def test_in_a_webkit_app_the_page_tells_the_app_it_is_ready_and_live(webkit_app, accounts, webkit_user, task):
	webkit_app.open_live(link(accounts, webkit_user, "/webview/list"), "/webview/list")

	[ready] = webkit_app.wait_for_posted("ready")
	assert ready["route"] == "/webview/list", ready
	webkit_app.wait_until(lambda: {"state": "live"} in webkit_app.wait_for_posted("realtime"), what="live")
	assert webkit_app.evaluate("webviewKit.bridge.host") == "ios"
	assert webkit_app.attribute("html", "data-host") == "ios"


def test_in_a_webkit_app_a_tapped_row_asks_the_app_to_navigate_and_commands_are_answered(
	webkit_app, accounts, webkit_user, task
):
	webkit_app.open_live(link(accounts, webkit_user, "/webview/list"), "/webview/list")

	webkit_app.click(f"[data-name='{task}'] a")

	[navigate] = webkit_app.wait_for_posted("navigate")
	assert navigate["route"] == "/webview/document"
	assert navigate["params"] == {"doctype": "Webview Demo Task", "name": task}
	assert webkit_app.url.endswith("/webview/list"), "the app navigates, not the page"
	# What the app's evaluateJavaScript calls.
	webkit_app.evaluate("webviewKit.bridge.on('greet', ({ name }) => `hello ${name}`)")
	webkit_app.evaluate("webviewKit.bridge.receive({type: 'theme', payload: {scheme: 'dark'}, id: 1})")
	webkit_app.evaluate("webviewKit.bridge.receive({type: 'greet', payload: {name: 'app'}, id: 2})")
	replies = webkit_app.wait_until(
		lambda: len(webkit_app.wait_for_posted("reply")) == 2 and webkit_app.wait_for_posted("reply")
	)
	assert replies == [{"id": 1, "ok": True, "result": "dark"}, {"id": 2, "ok": True, "result": "hello app"}]
	assert webkit_app.attribute("html", "data-theme") == "dark"
	webkit_app.evaluate("webviewKit.socket.disconnect()")  # as when the app was in the background
	webkit_app.wait_for_realtime("reconnecting")
	webkit_app.evaluate("webviewKit.bridge.receive({type: 'reconnect'})")
	webkit_app.wait_for_realtime("live")


# -- screenshots -----------------------------------------------------------------------------
@pytest.fixture
def tasks(editor, webkit_user):
	"""Return `make(title, **fields)`: a demo task Ana may write, none left from before; deleted afterwards."""
	editor.delete_tasks_of(webkit_user)
	made = []

	def make(title: str, **fields) -> str:
		made.append(editor.create(title, share_with=(webkit_user,), **fields))
		share = {"doctype": TASK, "name": made[-1], "user": webkit_user, "read": 1, "write": 1}
		editor._ok(editor.http.post(f"{editor.url}/api/method/frappe.share.add", data=share))
		return made[-1]

	yield make
	for name in made:
		editor.delete(name)


def test_the_templates_as_webkit_draws_them(webkit_app, accounts, webkit_user, editor, orders, stack, tasks):
	"""Each template in WebKit, saved beside the Chromium phones' screenshots (docs/templates.md)."""

	def shoot(name: str) -> None:
		webkit_app.screenshot(SCREENSHOTS / f"{name}-webkit.png")

	webkit_app.open_live(link(accounts, webkit_user, "/webview/count"))
	stack.site_output(["webview", "count", "--user", webkit_user, "--upto", "20", "--interval", "0.01"])
	webkit_app.wait_for_text("count", "20")
	shoot("count")

	webkit_app.open_live(link(accounts, webkit_user, "/webview/progress"), "/webview/progress")
	stack.site_output(["webview", "progress", "--user", webkit_user, "--steps", "3", "--interval", "0.05"])
	webkit_app.wait_for_attribute("[data-live-progress]", "data-state", "done")
	shoot("progress-done")

	pack = tasks("Pack order 1042", description="Pallets 1 to 4")
	webkit_app.open_live(link(accounts, webkit_user, "/webview/document", name=pack), "/webview/document")
	editor.update(pack, status="Working", priority="High", progress=60)
	webkit_app.wait_for_text("field-status", "Working")
	shoot("document")

	tasks("Ship order 1042", priority="High")
	webkit_app.open_live(link(accounts, webkit_user, "/webview/list"), "/webview/list")
	webkit_app.wait_for("document.querySelectorAll('[data-testid=rows] > li').length === 2")
	shoot("list")

	webkit_app.open_live(link(accounts, webkit_user, "/webview/presence", name=pack), "/webview/presence")
	webkit_app.wait_for_text("presence-summary", "Only you are here")
	shoot("presence")

	webkit_app.open_live(link(accounts, webkit_user, ROUTE, doctype=TASK, name=pack), ROUTE)
	webkit_app.wait_for_text("workflow-state", "Open")
	shoot("workflow")

	order = orders.create("Café Lumen", webkit_user)
	webkit_app.open_live(link(accounts, webkit_user, "/webview/order", name=order), "/webview/order")
	orders.update(
		order, status="On the way", eta="15 min", lines=[{"item": "Oat milk", "qty": 6, "rate": 2.2}]
	)
	webkit_app.wait_for_text("order-state", "On the way", timeout=30_000)
	shoot("order")
