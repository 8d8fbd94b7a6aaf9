"""Deep links sign a user in to one webview, once, and nothing else."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from webview import open_webview


def test_deep_link_lands_on_the_live_page_without_the_token(page: Page, deep_link):
	response = page.goto(deep_link)

	expect(page).to_have_url(re.compile(r"/webview/count$"))
	expect(page.locator("body")).to_have_attribute("data-realtime", "live", timeout=15_000)
	redirect = response.request.redirected_from.response()
	assert redirect.status == 303
	assert redirect.headers["cache-control"] == "no-store"
	assert redirect.headers["referrer-policy"] == "no-referrer"
	cookie = next(c for c in page.context.cookies() if c["name"] == "sid")
	assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_reused_link_shows_already_used_page(browser: Browser, browser_context_args, page: Page, deep_link):
	open_webview(page, deep_link)
	second_webview = browser.new_context(**browser_context_args)
	try:
		again = second_webview.new_page()
		response = again.goto(deep_link)

		assert response.status == 410
		expect(again.get_by_test_id("link-error")).to_have_text("This link has already been used")
		assert not [c for c in second_webview.cookies() if c["name"] == "sid"]
	finally:
		second_webview.close()


def test_scoped_session_is_refused_everything_else(page: Page, deep_link):
	open_webview(page, deep_link)

	for path in ("/app", "/api/resource/User", "/me", "/api/method/frappe.client.get_count?doctype=User"):
		assert page.request.get(path, max_redirects=0).status == 403, path
	assert page.request.get("/api/method/frappe.auth.get_logged_user").ok


def test_revoking_the_user_ends_the_live_page(page: Page, deep_link, user, accounts):
	open_webview(page, deep_link)

	response = accounts.call("webview_kit.api.revoke_sessions", user=user)

	assert response.json()["message"]["ended"] >= 1
	expect(page.locator("body")).to_have_attribute("data-realtime", "ended", timeout=2_000)
	expect(page.get_by_test_id("realtime-banner")).to_contain_text("session has ended")
	assert page.request.get("/webview/count").status == 403


@pytest.fixture
def redeem_limit_of_three(site_setting):
	site_setting("webview_redeem_rate_limit", 3)
	return 3


def test_junk_links_are_rate_limited_per_address_and_a_valid_link_still_opens(
	page: Page, redeem_limit_of_three, deep_link
):
	bogus = "/webview/count?wvt=wvk_" + "A" * 49
	statuses = [page.request.get(bogus, max_redirects=0).status for _ in range(redeem_limit_of_three + 1)]

	# Earlier tests' refused links from this address may already count in the current minute.
	refused = statuses.index(429)
	assert statuses == [401] * refused + [429] * (len(statuses) - refused), statuses
	limited = page.request.get(bogus, max_redirects=0)
	assert limited.status == 429 and int(limited.headers["retry-after"]) > 0
	assert "sid" not in limited.headers.get("set-cookie", "")

	open_webview(page, deep_link)
