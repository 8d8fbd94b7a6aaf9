"""The templates in the user's language: German, and Arabic right to left, on both phones."""

from __future__ import annotations

import pytest
from mobile import EVENT_TIMEOUT, link, open_page, screenshot
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.phones  # every browser test once per phone


@pytest.fixture
def speaking(editor):
	"""Return `set(user, lang)`: the user's language in Frappe, set back afterwards."""
	changed = []

	def set_(user: str, lang: str) -> str:
		editor._ok(editor.http.put(f"{editor.url}/api/resource/User/{user}", json={"language": lang}))
		changed.append(user)
		return user

	yield set_
	for user in changed:
		editor._ok(editor.http.put(f"{editor.url}/api/resource/User/{user}", json={"language": None}))


@pytest.fixture
def task(editor, ana):
	name = editor.create("Check the delivery", share_with=(ana,), status="Working", progress=40)
	yield name
	editor.delete(name)


def test_a_german_user_reads_the_page_and_its_banner_in_german(
	page: Page, accounts, ana, speaking, task, phone
):
	speaking(ana, "de")
	open_page(page, link(accounts, ana, "/webview/document", name=task), "/webview/document")

	expect(page.locator("html")).to_have_attribute("lang", "de")
	expect(page.locator(".wvk-meta")).to_contain_text("Zuletzt gespeichert von")
	page.context.set_offline(True)
	try:
		banner = page.get_by_test_id("realtime-banner")
		expect(banner).to_have_text(
			"Sie sind offline. Aktualisierungen folgen, sobald Sie wieder online sind.", timeout=EVENT_TIMEOUT
		)
		screenshot(page, "document-de", phone)
	finally:
		page.context.set_offline(False)
	expect(page.locator("body")).to_have_attribute("data-realtime", "live", timeout=EVENT_TIMEOUT)


def test_an_arabic_user_reads_the_page_right_to_left(page: Page, accounts, ana, speaking, task, phone):
	speaking(ana, "ar")
	open_page(page, link(accounts, ana, "/webview/document", name=task), "/webview/document")

	expect(page.locator("html")).to_have_attribute("dir", "rtl")
	expect(page.locator("html")).to_have_attribute("lang", "ar")
	expect(page.locator(".wvk-meta")).to_contain_text("آخر حفظ بواسطة")
	# Right to left: a field's label stands right of its value.
	label = page.locator(".wvk-field dt").first.bounding_box()
	value = page.locator(".wvk-field dd").first.bounding_box()
	assert label["x"] > value["x"], (label, value)
	screenshot(page, "document-ar", phone)
