"""The five templates on the real stack, on an iPhone and a Pixel: each follows what is published.

Changes come from where they would in production: `bench webview ...` publishers and
background jobs for the count and progress, an editor saving tasks over REST for the
document and list, and people opening and closing the page for presence. Each
template's main test saves a screenshot per phone (see mobile.SCREENSHOTS).
"""

from __future__ import annotations

import time

import pytest
from mobile import EVENT_TIMEOUT, RECORD_LAYOUT_SHIFTS, layout_shifts, link, open_page, screenshot
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.phones  # every browser test once per phone

TASK = "Webview Demo Task"
ROUTES = ["/webview/count", "/webview/progress", "/webview/document", "/webview/list", "/webview/presence"]
FOR_A_DOCUMENT = {"/webview/document", "/webview/presence"}


@pytest.fixture
def task_for(editor):
	"""Return `make(*users, title=...)`: a demo task shared with `users`, deleted afterwards."""
	made = []

	def make(*users: str, title: str = "Check the delivery", **fields) -> str:
		made.append(editor.create(title, share_with=users, **fields))
		return made[-1]

	yield make
	for name in made:
		try:
			editor.delete(name)
		except AssertionError:
			pass  # the test deleted it


# -- count ----------------------------------------------------------------------------
def test_count_template_counts_to_the_last_published_value(page: Page, accounts, ana, stack, phone):
	open_page(page, link(accounts, ana, "/webview/count"), "/webview/count")

	stack.site_output(["webview", "count", "--user", ana, "--upto", "20", "--interval", "0.02"])

	expect(page.get_by_test_id("count")).to_have_text("20", timeout=EVENT_TIMEOUT)
	seqs = [seq for _room, seq in page.evaluate("webviewKit.applied")]
	assert len(seqs) == 21 and seqs == list(range(seqs[0], seqs[0] + 21)), seqs
	screenshot(page, "count", phone)


# -- progress -------------------------------------------------------------------------
def record_progress(page: Page) -> None:
	page.evaluate(
		"window.seen = []; webviewKit.on('webview_kit.progress', (p) => seen.push([p.job, p.state, p.stage, p.percent]))"
	)


def test_progress_shows_each_stage_until_done(page: Page, accounts, ana, stack, phone):
	page.add_init_script(RECORD_LAYOUT_SHIFTS)
	open_page(page, link(accounts, ana, "/webview/progress"), "/webview/progress")
	record_progress(page)

	job = stack.site_output(
		["webview", "progress", "--user", ana, "--steps", "3", "--interval", "0.1", "--enqueue"]
	).strip()

	progress = page.locator("[data-live-progress]")
	expect(progress).to_have_attribute("data-job", job, timeout=EVENT_TIMEOUT)
	shifts_before = len(layout_shifts(page))  # from here on only values change, not the stages
	expect(progress).to_have_attribute("data-state", "done", timeout=60_000)
	expect(page.get_by_test_id("progress-status")).to_have_text("Done")
	expect(page.get_by_test_id("progress-percent")).to_have_text("100%")
	expect(page.locator("[data-testid=progress-stages] li")).to_have_text(["Upload", "Validate", "Import"])
	for stage in page.locator("[data-testid=progress-stages] li").all():
		expect(stage).to_have_attribute("data-state", "done")
	seen = [entry[1:] for entry in page.evaluate("seen") if entry[0] == job]
	states = [state for state, _stage, _percent in seen]
	assert states[0] == "queued" and states[-1] == "done" and set(states[1:-1]) == {"running"}, seen
	stages = [stage for state, stage, _percent in seen if state == "running"]
	assert stages == sorted(stages) and set(stages) == {0, 1, 2}, "every stage, in order"
	percents = [percent for _state, _stage, percent in seen]
	assert percents == sorted(percents) and percents[-1] == 100, "never backwards"
	assert layout_shifts(page)[shifts_before:] == [], "values changed without moving the page"
	screenshot(page, "progress-done", phone)


def test_progress_shows_the_stage_that_failed(page: Page, accounts, ana, stack, phone):
	open_page(page, link(accounts, ana, "/webview/progress"), "/webview/progress")

	job = stack.site_output(
		["webview", "progress", "--user", ana, "--steps", "2", "--interval", "0.05", "--fail-at", "Validate"]
	).strip()

	progress = page.locator("[data-live-progress]")
	expect(progress).to_have_attribute("data-job", job, timeout=EVENT_TIMEOUT)
	expect(progress).to_have_attribute("data-state", "failed", timeout=EVENT_TIMEOUT)
	expect(page.get_by_test_id("progress-status")).to_have_text("Failed: Validate")
	expect(page.get_by_test_id("progress-message")).to_contain_text("has no email address")
	stages = page.locator("[data-testid=progress-stages] li")
	for i, state in enumerate(["done", "failed", "pending"]):
		expect(stages.nth(i)).to_have_attribute("data-state", state)
	screenshot(page, "progress-failed", phone)


# -- live document --------------------------------------------------------------------
def test_document_fields_follow_each_save(page: Page, accounts, ana, editor, task_for, phone):
	name = task_for(ana, title="Check the delivery", description="Pallets 1 to 4")
	page.add_init_script(RECORD_LAYOUT_SHIFTS)
	open_page(page, link(accounts, ana, "/webview/document", name=name), "/webview/document")
	expect(page.get_by_test_id("field-status")).to_have_text("Open")
	shifts_before = len(layout_shifts(page))

	editor.update(name, status="Working", priority="High", progress=60)

	expect(page.get_by_test_id("field-status")).to_have_text("Working", timeout=EVENT_TIMEOUT)
	expect(page.get_by_test_id("field-status")).to_have_attribute("data-state", "working")
	expect(page.get_by_test_id("field-priority")).to_have_text("High")
	expect(page.get_by_test_id("field-progress")).to_have_text("60%")
	expect(page.get_by_test_id("doc-saved-by")).to_have_text("Erin")
	assert layout_shifts(page)[shifts_before:] == [], "values changed without moving the page"

	editor.update(name, title="Check the delivery again", description="Pallet 5 is missing")

	expect(page.get_by_test_id("doc-title")).to_have_text("Check the delivery again", timeout=EVENT_TIMEOUT)
	expect(page.get_by_test_id("field-description")).to_have_text("Pallet 5 is missing")
	screenshot(page, "document", phone)
	page.emulate_media(color_scheme="dark")
	screenshot(page, "document-dark", phone)

	editor.delete(name)

	expect(page.get_by_test_id("doc-deleted")).to_be_visible(timeout=EVENT_TIMEOUT)


def test_document_not_shared_with_the_user_is_refused(page: Page, accounts, ana, ben, task_for):
	name = task_for(ben, title="Ben's task")
	open_page(page, link(accounts, ana, "/webview/list"), "/webview/list")

	denied = page.request.get(f"/api/method/webview_kit.api.catch_up?room=doc:{TASK}/{name}&after=0")
	# Refused where the link is made (issue 25), before it ever reaches the phone.
	issued = accounts.issue(ana, "/webview/document", params={"doctype": TASK, "name": name})
	# A list link's session asking for the document page directly is refused too.
	response = page.goto(f"/webview/document?doctype={TASK}&name={name}")

	assert denied.status == 403
	assert issued.status_code == 417, issued.text
	assert "cannot" in issued.json()["_server_messages"].lower(), issued.text
	assert response.status == 403
	assert page.locator("[data-live-doc]").count() == 0
	assert "Ben's task" not in page.content()


# -- live list ------------------------------------------------------------------------
def rows(page: Page):
	return page.locator("[data-testid=rows] > li")


def test_list_rows_appear_change_and_disappear(page: Page, accounts, ana, ben, editor, task_for, phone):
	open_page(page, link(accounts, ana, "/webview/list"), "/webview/list")
	expect(page.get_by_test_id("empty")).to_be_visible()

	pack = task_for(ana, title="Pack order 1042")
	expect(rows(page)).to_have_count(1, timeout=EVENT_TIMEOUT)
	expect(rows(page).first).to_contain_text("Pack order 1042")
	expect(page.get_by_test_id("list-announce")).to_have_text("Pack order 1042 added")

	task_for(ben, title="Ben's private task")
	ship = task_for(ana, title="Ship order 1042", priority="High")
	expect(rows(page)).to_have_count(2, timeout=EVENT_TIMEOUT)
	expect(rows(page).first).to_contain_text("Ship order 1042")
	expect(page.locator("[data-testid=rows]")).not_to_contain_text("Ben's private task")

	editor.update(pack, status="Done")
	done = page.locator(f"[data-name='{pack}'] [data-field=status]")
	expect(done).to_have_text("Done", timeout=EVENT_TIMEOUT)
	expect(done).to_have_attribute("data-state", "done")
	screenshot(page, "list", phone)

	editor.unshare(pack, ana)
	expect(page.locator(f"[data-name='{pack}']")).to_have_count(0, timeout=EVENT_TIMEOUT)
	expect(page.get_by_test_id("list-announce")).to_have_text("Pack order 1042 removed")

	editor.delete(ship)
	expect(rows(page)).to_have_count(0, timeout=EVENT_TIMEOUT)
	expect(page.get_by_test_id("empty")).to_be_visible()


def test_list_shows_rows_shared_before_it_opened(page: Page, accounts, ana, task_for):
	first = task_for(ana, title="Count the stock")
	second = task_for(ana, title="Order labels")

	open_page(page, link(accounts, ana, "/webview/list"), "/webview/list")

	expect(rows(page)).to_have_count(2)
	assert page.eval_on_selector_all("[data-testid=rows] > li", "els => els.map(e => e.dataset.name)") == [
		second,
		first,
	]


# -- presence -------------------------------------------------------------------------
def viewers(page: Page):
	return page.get_by_test_id("viewers").locator(".wvk-person")


def presence_page(browser: Browser, args: dict, url: str) -> Page:
	page = browser.new_context(**args).new_page()
	open_page(page, url, "/webview/presence")
	return page


def test_presence_shows_who_joins_and_leaves(
	page: Page, browser: Browser, browser_context_args, accounts, ana, ben, task_for, phone
):
	name = task_for(ana, ben, title="Unload truck 7")
	open_page(page, link(accounts, ana, "/webview/presence", name=name), "/webview/presence")
	expect(page.get_by_test_id("presence-summary")).to_have_text("Only you are here", timeout=EVENT_TIMEOUT)

	bens_page = presence_page(
		browser, browser_context_args, link(accounts, ben, "/webview/presence", name=name)
	)
	try:
		expect(page.get_by_test_id("presence-summary")).to_have_text(
			"You and 1 other person", timeout=EVENT_TIMEOUT
		)
		expect(viewers(page)).to_have_text(["Ana (you)", "Ben"])
		expect(page.get_by_test_id("presence-activity")).to_have_text("Ben joined")
		expect(viewers(bens_page)).to_have_text(["Ana", "Ben (you)"])
		screenshot(page, "presence", phone)

		bens_page.goto("about:blank")  # closing the page gives its place up at once

		expect(page.get_by_test_id("presence-summary")).to_have_text(
			"Only you are here", timeout=EVENT_TIMEOUT
		)
		expect(page.get_by_test_id("presence-activity")).to_have_text("Ben left")
	finally:
		bens_page.context.close()


@pytest.fixture
def one_viewer_listed(site_setting):
	site_setting("webview_presence_max_viewers", 1)


def test_a_room_past_the_viewer_cap_lists_the_first_and_says_how_many_more(
	page: Page, browser: Browser, browser_context_args, accounts, ana, ben, task_for, one_viewer_listed
):
	name = task_for(ana, ben, title="Crowded dock")
	open_page(page, link(accounts, ana, "/webview/presence", name=name), "/webview/presence")
	bens_page = presence_page(
		browser, browser_context_args, link(accounts, ben, "/webview/presence", name=name)
	)
	try:
		more = page.get_by_test_id("viewers").locator("[data-presence=more]")
		expect(more).to_have_text("and 1 more", timeout=EVENT_TIMEOUT)
		expect(viewers(page)).to_have_text(["Ana (you)"])
		expect(page.get_by_test_id("presence-summary")).to_have_text("You and 1 other person")
	finally:
		bens_page.context.close()


@pytest.fixture
def short_lease(site_setting):
	"""Presence leases of 6 s while the test runs (pages renew every 2 s)."""
	site_setting("webview_presence_lease", 6)
	return 6


def test_presence_drops_a_viewer_who_loses_the_connection(
	page: Page, browser: Browser, browser_context_args, accounts, ana, ben, task_for, short_lease
):
	name = task_for(ana, ben, title="Unload truck 8")
	open_page(page, link(accounts, ana, "/webview/presence", name=name), "/webview/presence")
	bens_page = presence_page(
		browser, browser_context_args, link(accounts, ben, "/webview/presence", name=name)
	)
	try:
		expect(page.get_by_test_id("presence-summary")).to_have_text(
			"You and 1 other person", timeout=EVENT_TIMEOUT
		)

		bens_page.context.set_offline(True)  # no goodbye: the lease has to run out

		expect(page.get_by_test_id("presence-activity")).to_have_text("Ben left", timeout=30_000)
		expect(page.get_by_test_id("presence-summary")).to_have_text("Only you are here")

		bens_page.context.set_offline(False)

		expect(page.get_by_test_id("presence-activity")).to_have_text("Ben joined", timeout=30_000)
	finally:
		bens_page.context.close()


def open_counting_sockets(stack, open_) -> tuple[Page, str]:
	"""Open a page with `open_()`; return it and the socket server its socket reached."""
	before = stack.socket_clients()
	page = open_()
	deadline = time.monotonic() + 10
	while not (gained := [name for name, n in stack.socket_clients().items() if n > before[name]]):
		assert time.monotonic() < deadline, f"no socket server took the page's socket: {before}"
		time.sleep(0.05)
	assert len(gained) == 1, f"one page, one socket: {gained}"
	return page, gained[0]


@pytest.mark.parametrize("phone", ["iphone"])  # about servers, not phones
def test_presence_is_the_same_on_both_socket_servers(
	browser: Browser, browser_context_args, accounts, ana, ben, task_for, two_socket_servers, phone
):
	stack = two_socket_servers
	name = task_for(ana, ben, title="Unload truck 9")
	url = lambda who: link(accounts, who, "/webview/presence", name=name)  # noqa: E731
	anas_page, anas_server = open_counting_sockets(
		stack, lambda: presence_page(browser, browser_context_args, url(ana))
	)
	# Round-robin: Ben's next socket should go to the other server.
	for attempt in range(1, 7):  # noqa: B007 (printed below)
		bens_page, bens_server = open_counting_sockets(
			stack, lambda: presence_page(browser, browser_context_args, url(ben))
		)
		if bens_server != anas_server:
			break
		bens_page.context.close()
	else:
		pytest.fail(f"every one of Ben's pages reached {anas_server}, as Ana's did")
	print(f"\nAna's page on {anas_server}, Ben's on {bens_server} (try {attempt})")
	try:
		# Ben's join reaches Ana through her server, and Ana's leaving reaches Ben through his.
		expect(viewers(anas_page)).to_have_text(["Ana (you)", "Ben"], timeout=EVENT_TIMEOUT)
		expect(anas_page.get_by_test_id("presence-activity")).to_have_text("Ben joined")
		expect(viewers(bens_page)).to_have_text(["Ana", "Ben (you)"])

		anas_page.goto("about:blank")

		expect(bens_page.get_by_test_id("presence-activity")).to_have_text("Ana left", timeout=EVENT_TIMEOUT)
		expect(bens_page.get_by_test_id("presence-summary")).to_have_text("Only you are here")
	finally:
		anas_page.context.close()
		bens_page.context.close()


# -- every template -------------------------------------------------------------------
@pytest.mark.parametrize("route", ROUTES)
def test_template_fits_a_320_px_screen(page: Page, accounts, ana, task_for, route):
	query = (
		{"name": task_for(ana, title="A title long enough to wrap on a small phone")}
		if route in FOR_A_DOCUMENT
		else {}
	)
	page.set_viewport_size({"width": 320, "height": 640})

	open_page(page, link(accounts, ana, route, **query), route)

	assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_offline_shows_a_banner_and_back_online_goes_live(page: Page, accounts, ana, task_for, phone):
	name = task_for(ana)
	open_page(page, link(accounts, ana, "/webview/document", name=name), "/webview/document")
	banner = page.get_by_test_id("realtime-banner")
	expect(banner).to_be_hidden()

	page.context.set_offline(True)
	try:
		expect(banner).to_be_visible()
		expect(banner).to_have_text("You are offline. Updates resume when you are back.")
		expect(banner).to_have_attribute("aria-live", "polite")
		screenshot(page, "offline", phone)
	finally:
		page.context.set_offline(False)

	expect(page.locator("body")).to_have_attribute("data-realtime", "live", timeout=EVENT_TIMEOUT)
	expect(banner).to_be_hidden()
