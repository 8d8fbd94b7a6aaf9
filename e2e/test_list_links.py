"""With two live DocTypes, a list row opens its document: in a desk session by the link, in a
deep-link session (which reaches its own page only) by asking the app, and never by a 403."""

from __future__ import annotations

import re

import pytest
from mobile import TASK, link, open_page
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.phones  # every browser test once per phone

SETTINGS = "/api/resource/Webview Settings/Webview Settings"
PASSWORD = "Wvk-e2e-desk-password-7!"


@pytest.fixture
def two_live_doctypes(editor):
	"""ToDo live beside the demo task, for this test."""
	before = editor._ok(editor.http.get(f"{editor.url}{SETTINGS}"))["data"]["live_doctypes"]
	editor._ok(editor.http.put(f"{editor.url}{SETTINGS}", json={"live_doctypes": f"{TASK}\nToDo"}))
	yield
	editor._ok(editor.http.put(f"{editor.url}{SETTINGS}", json={"live_doctypes": before}))


def set_password(editor, user: str, password: str) -> None:
	editor._ok(editor.http.put(f"{editor.url}/api/resource/User/{user}", json={"new_password": password}))


@pytest.fixture
def task(editor, ana):
	name = editor.create("Sweep the loading bay", share_with=(ana,))
	yield name
	editor.delete(name)


def test_a_row_opens_its_document_in_a_desk_session(page: Page, editor, ana, task, two_live_doctypes):
	# A password login: a session of the desk kind, with no deep-link scope.
	set_password(editor, ana, PASSWORD)
	signed_in = page.request.post("/api/method/login", form={"usr": ana, "pwd": PASSWORD})
	assert signed_in.ok, signed_in.text()
	page.goto(f"/webview/list?doctype={TASK}")
	expect(page.locator("body")).to_have_attribute("data-realtime", "live")

	page.locator(f"[data-name='{task}'] a").click()

	expect(page).to_have_url(re.compile(r"/webview/document\?doctype=Webview%20Demo%20Task&name="))
	expect(page.get_by_test_id("doc-title")).to_have_text("Sweep the loading bay")


def test_a_row_stays_put_in_a_deep_link_session_without_an_app(
	page: Page, accounts, ana, task, two_live_doctypes
):
	url = link(accounts, ana, "/webview/list", doctype=TASK)
	open_page(page, url, "/webview/list")

	page.locator(f"[data-name='{task}'] a").click()  # waits for a navigation it started, if any

	expect(page).to_have_url(re.compile(r"/webview/list\?doctype="))
	expect(page.locator("[data-live-list]")).to_be_visible()
