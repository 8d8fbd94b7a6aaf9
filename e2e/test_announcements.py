"""Screen readers hear a short, rate-limited summary of what changed, not every tick."""

from __future__ import annotations

import pytest
from mobile import EVENT_TIMEOUT, link, open_page
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.phones  # every browser test once per phone

# Every text the page's one live region is given, as a screen reader would hear it.
RECORD_ANNOUNCEMENTS = """
window.__said = [];
document.addEventListener("DOMContentLoaded", () => {
	const region = document.querySelector("[data-announcer]");
	new MutationObserver(() => __said.push(region.textContent)).observe(region, { childList: true, characterData: true, subtree: true });
});
"""


def test_a_ticking_count_is_announced_now_and_then_not_on_every_tick(page: Page, accounts, ana, stack):
	page.add_init_script(RECORD_ANNOUNCEMENTS)
	open_page(page, link(accounts, ana, "/webview/count"), "/webview/count")
	expect(page.get_by_test_id("count")).not_to_have_attribute("aria-live", "polite")
	expect(page.get_by_test_id("announcer")).to_have_attribute("aria-live", "polite")
	assert page.locator("[aria-live]:not([data-announcer]):not([data-testid=realtime-banner])").count() == 0

	stack.site_output(["webview", "count", "--user", ana, "--upto", "30", "--interval", "0.02"])

	expect(page.get_by_test_id("count")).to_have_text("30", timeout=EVENT_TIMEOUT)
	# The latest value is said once the region's quiet time (announce.js, 5 s) is over.
	expect(page.get_by_test_id("announcer")).to_have_text("Count: 30", timeout=EVENT_TIMEOUT)
	said = page.evaluate("__said")
	assert 1 < len(said) <= 3, said  # 31 values, two or three announcements


def test_a_save_is_announced_as_the_fields_it_changed(page: Page, accounts, ana, editor):
	name = editor.create("Check the delivery", share_with=(ana,))
	try:
		open_page(page, link(accounts, ana, "/webview/document", name=name), "/webview/document")
		assert page.locator("dl[aria-live]").count() == 0

		editor.update(name, status="Working", priority="High")

		expect(page.get_by_test_id("announcer")).to_have_text(
			"Status, Priority changed", timeout=EVENT_TIMEOUT
		)
	finally:
		editor.delete(name)
