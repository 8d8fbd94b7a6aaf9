"""The pages people already have: `frappe.realtime.on` in `frappe.ready` on a stock Frappe Web Page.

The page is the one most teams write first, created as a desk Web Page with its script in
the HTML content and no `setTimeout`. With the include on (Webview Settings, "Realtime on web
pages") it follows the count; with it off, it is exactly what Frappe serves, and stays at 0.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from playwright.sync_api import Page, expect
from webview import assert_every_count_once_in_order
from weight import record, script_sources, weigh

PASSWORD = "Wvk-web-page-7!"
PAGE_HTML = """<p>Count: <span id="count">0</span></p>
<script>
frappe.ready(() => {
	frappe.realtime.on("count", (data) => {
		document.getElementById("count").textContent = data.count;
		(window.seen = window.seen || []).push(data.count);
	});
});
</script>"""
COUNT = "#count"
INCLUDE = "realtime_pages.bundle"


def published_web_page(editor, prefix: str, html: str):
	"""Publish a desk Web Page holding `html`, yield its route, delete it afterwards."""
	route = f"{prefix}-{uuid.uuid4().hex[:8]}"
	body = {"title": route, "route": route, "published": 1, "content_type": "HTML", "main_section_html": html}
	name = editor._ok(editor.http.post(f"{editor.url}/api/resource/Web Page", json=body))["data"]["name"]
	yield f"/{route}"
	editor.http.delete(f"{editor.url}/api/resource/Web Page/{name}")


@pytest.fixture
def web_page(editor) -> str:
	"""A published desk Web Page holding PAGE_HTML; its route."""
	yield from published_web_page(editor, "e2e-count", PAGE_HTML)


def set_include(editor, on: bool) -> None:
	url = f"{editor.url}/api/resource/Webview Settings/Webview Settings"
	editor._ok(editor.http.put(url, json={"realtime_on_web_pages": int(on)}))


@pytest.fixture
def include_on(editor):
	set_include(editor, True)
	yield
	set_include(editor, False)


@pytest.fixture
def include_off(editor):
	set_include(editor, False)


@pytest.fixture
def include_off_before(editor, stack, web_page):
	"""The page rendered (and cached by Frappe) once while the include was off."""
	set_include(editor, False)
	assert requests.get(stack.url + web_page, timeout=30).ok
	set_include(editor, True)


@pytest.fixture
def signed_in(stack, page: Page, user) -> str:
	"""The test's user, signed in to Frappe in the page's browser context with a password."""
	stack.site_output(["webview", "ensure-user", "--email", user, "--password", PASSWORD])
	assert page.request.post("/api/method/login", form={"usr": user, "pwd": PASSWORD}).ok
	return user


def seen(page: Page) -> list[int]:
	return page.evaluate("window.seen || []")


def test_with_the_include_the_count_arrives_whole_from_the_moment_of_navigation(
	page: Page, include_on, signed_in, web_page, start_publisher
):
	publisher = start_publisher(0.015, 99, "--event", "count")
	publisher.go()
	page.goto(web_page)

	expect(page.locator(COUNT)).to_have_text("99", timeout=30_000)
	publisher.wait()
	assert_every_count_once_in_order(page, publisher.first_seq)
	shown = seen(page)
	assert shown == list(range(shown[0], 100)), shown


@pytest.mark.usefixtures("one_socket_server")
def test_with_the_include_a_socket_server_restart_loses_nothing(
	page: Page, include_on, signed_in, web_page, start_publisher, stack
):
	page.goto(web_page)
	expect(page.locator("body")).to_have_attribute("data-realtime", "live", timeout=15_000)
	publisher = start_publisher(0.02, 99, "--event", "count")
	publisher.go()
	page.wait_for_function("() => (window.seen || []).length >= 30", timeout=30_000)

	stack.kill("socketio-0")
	try:
		expect(page.locator("body")).to_have_attribute("data-realtime", "reconnecting")
		time.sleep(2)  # the outage itself, not a wait for readiness
	finally:
		stack.restart("socketio-0")

	expect(page.locator(COUNT)).to_have_text("99", timeout=30_000)
	publisher.wait()
	assert_every_count_once_in_order(page, publisher.first_seq)
	assert seen(page) == list(range(100))


def test_with_the_include_stock_publish_realtime_reaches_the_handler(
	page: Page, include_on, signed_in, web_page, start_publisher
):
	page.goto(web_page)
	page.wait_for_function("() => frappe.realtime.socket && frappe.realtime.socket.connected", timeout=15_000)
	publisher = start_publisher(0.015, 99, "--event", "count", "--stock")
	publisher.go()

	expect(page.locator(COUNT)).to_have_text("99", timeout=30_000)
	publisher.wait()
	assert seen(page) == list(range(100))


def test_without_the_include_the_stock_page_receives_nothing(
	page: Page, include_off, signed_in, web_page, start_publisher
):
	page.goto(web_page)
	page.wait_for_load_state("load")
	publisher = start_publisher(0.015, 20, "--event", "count", "--stock")
	publisher.go()
	publisher.wait()

	assert page.evaluate("!!(frappe.realtime.socket && frappe.realtime.socket.connected)") is False
	assert seen(page) == []
	expect(page.locator(COUNT)).to_have_text("0")


def test_without_the_include_the_page_is_what_frappe_serves(page: Page, include_off, signed_in, web_page):
	html = page.request.get(web_page).text()
	assert not [src for src in script_sources(html) if INCLUDE in src]
	assert 'id="wvk-realtime"' not in html


def test_each_user_gets_their_own_room_never_a_page_cached_for_another(
	stack, page: Page, include_on, include_off_before, signed_in, accounts, web_page
):
	# Rendered once with the include off (Frappe caches that for everyone), then on.
	other = accounts.take()
	stack.site_output(["webview", "ensure-user", "--email", other, "--password", PASSWORD])
	others = requests.Session()
	assert others.post(f"{stack.url}/api/method/login", data={"usr": other, "pwd": PASSWORD}, timeout=30).ok

	mine, theirs = page.request.get(web_page).text(), others.get(stack.url + web_page, timeout=30).text

	assert f'"user:{signed_in}"' in mine and other not in mine
	assert f'"user:{other}"' in theirs and signed_in not in theirs


INCLUDE_BUDGET = 6 * 1024


def test_the_include_is_small_and_its_size_is_reported(stack, page: Page, include_on, signed_in, web_page):
	html = page.request.get(web_page).text()
	includes = [src for src in script_sources(html) if INCLUDE in src]
	assert len(includes) == 1, html[-3000:]
	size = weigh(stack.url, includes)
	record(web_pages_include_js_gz=size)
	assert size <= INCLUDE_BUDGET, size
