"""Live fragments on the demo order: the server renders pieces of the page, the page morphs
them in, and nothing the user is doing or was sent is lost, across restarts, offline spells
and history gaps. Each page is compared with the server's own rendering of it now."""

from __future__ import annotations

import time

import pytest
from mobile import ORDER, link, open_page, screenshot
from playwright.sync_api import Page, expect

from stack.chromium import wait_until

pytestmark = pytest.mark.phones  # every browser test once per phone
ONE_PHONE = pytest.mark.parametrize("phone", ["iphone"], indirect=True)

ROUTE = "/webview/order"
EVENT_TIMEOUT = 15_000
HOSTILE = "Bob <img src=x onerror=alert(1)>"  # text too: Frappe counts a bare tag as empty

# The fragments of the page that differ from a fresh rendering of the page, whitespace aside:
# [] when the page shows exactly what the server renders now.
DIFFERENT_FROM_SERVER = """async () => {
	const html = await (await fetch(location.href, { credentials: "same-origin" })).text();
	const fresh = new DOMParser().parseFromString(html, "text/html");
	const clean = (element) => {
		const copy = element.cloneNode(true);
		const walk = (node) => {
			for (const child of [...node.childNodes]) {
				if (child.nodeType === Node.TEXT_NODE && !child.textContent.trim()) child.remove();
				else if (child.nodeType === Node.ELEMENT_NODE) walk(child);
			}
		};
		walk(copy);
		return copy;
	};
	const differences = [];
	for (const next of fresh.querySelectorAll("[data-fragment]")) {
		const here = document.querySelector(`[data-fragment="${CSS.escape(next.dataset.fragment)}"]`);
		if (!here || !clean(here).isEqualNode(clean(next)))
			differences.push({ target: next.dataset.fragment, page: here && clean(here).innerHTML, server: clean(next).innerHTML });
	}
	return differences;
}"""


@pytest.fixture
def order(orders, ana) -> str:
	return orders.create("Café Lumen", ana)


def open_order(page: Page, accounts, user: str, name: str) -> None:
	open_page(page, link(accounts, user, ROUTE, name=name), ROUTE)


def timeline(page: Page) -> list[str]:
	return page.locator("[data-testid=order-timeline] > li").all_inner_texts()


def wait_for_timeline(page: Page, at_least: int) -> None:
	wait_until(page, f"document.querySelectorAll('[data-testid=order-timeline] > li').length >= {at_least}")


def assert_same_as_server(page: Page) -> None:
	assert page.evaluate(DIFFERENT_FROM_SERVER) == []


def test_a_change_from_the_desk_is_morphed_in_as_the_server_renders_it(
	page: Page, accounts, ana, orders, order, phone
):
	open_order(page, accounts, ana, order)
	expect(page.get_by_test_id("order-state")).to_have_text("Draft")

	orders.update(
		order,
		status="On the way",
		eta="15 min",
		lines=[{"item": "Oat milk", "qty": 6, "rate": 2.2}, {"item": "Croissant", "qty": 12, "rate": 1.6}],
	)
	expect(page.get_by_test_id("order-state")).to_have_text("On the way", timeout=EVENT_TIMEOUT)
	expect(page.locator("[data-testid=order-lines] > tr")).to_have_count(2)
	expect(page.get_by_test_id("order-total")).to_have_text("32.40")
	expect(page.get_by_test_id("order-eta")).to_have_text("15 min")
	assert_same_as_server(page)
	screenshot(page, "order", phone)


def test_what_the_user_is_typing_survives_twenty_updates_around_it(
	page: Page, accounts, ana, orders, order, phone
):
	open_order(page, accounts, ana, order)
	page.locator("#wvk-order-more > summary").click()
	page.evaluate("window.scrollTo(0, 120)")
	note = page.get_by_test_id("order-note")
	note.click()
	note.press_sequentially("Leave it with Sam")
	note.evaluate("el => el.setSelectionRange(5, 5)")
	scrolled = page.evaluate("scrollY")

	orders.log(order, 20)  # twenty saves: the status card around the input is re-rendered each time
	expect(page.get_by_test_id("order-updates")).to_have_text("21", timeout=EVENT_TIMEOUT)

	assert page.evaluate("document.activeElement.id") == "wvk-order-note"
	assert note.input_value() == "Leave it with Sam"
	assert note.evaluate("el => [el.selectionStart, el.selectionEnd]") == [5, 5]
	assert page.locator("#wvk-order-more").evaluate("el => el.open")
	assert page.evaluate("scrollY") == scrolled
	note.press_sequentially("!")  # the caret is where it was: the next key lands there
	assert note.input_value() == "Leave! it with Sam"


@pytest.mark.usefixtures("one_socket_server")
@ONE_PHONE
def test_a_socket_restart_and_three_seconds_offline_lose_no_append(
	page: Page, accounts, ana, orders, order, stack, tmp_path
):
	open_order(page, accounts, ana, order)
	writer = orders.start_log(order, count=120, interval=0.08, log_path=tmp_path / "log.txt")
	try:
		wait_for_timeline(page, at_least=11)
		stack.kill("socketio-0")
		try:
			expect(page.locator("body")).to_have_attribute("data-realtime", "reconnecting")
			time.sleep(1)  # the outage itself
		finally:
			stack.restart("socketio-0")
		expect(page.locator("body")).to_have_attribute("data-realtime", "live", timeout=EVENT_TIMEOUT)
		page.context.set_offline(True)
		try:
			expect(page.locator("body")).to_have_attribute("data-realtime", "offline")
			time.sleep(3)  # the time spent offline
		finally:
			page.context.set_offline(False)
		assert writer.wait(timeout=120) == 0, (tmp_path / "log.txt").read_text()[-2000:]
	finally:
		if writer.poll() is None:
			writer.kill()

	expect(page.get_by_test_id("order-updates")).to_have_text("121", timeout=EVENT_TIMEOUT)
	expect(page.locator("body")).to_have_attribute("data-realtime", "live")
	assert timeline(page) == ["Order placed", *(f"Step {i}" for i in range(1, 121))]
	ids = page.locator("[data-testid=order-timeline] > li").evaluate_all("els => els.map(e => e.id)")
	assert len(set(ids)) == len(ids) == 121
	assert_same_as_server(page)


@pytest.fixture
def short_history(site_setting):
	"""Keep only 10 events of history per room while the test runs."""
	site_setting("webview_history_length", 10)


@ONE_PHONE
def test_a_gap_longer_than_history_renders_the_fragments_afresh(
	page: Page, accounts, ana, orders, order, short_history
):
	open_order(page, accounts, ana, order)
	page.evaluate(
		"window.resynced = []; document.addEventListener('webviewkit:resync', (e) => resynced.push(e.detail.room))"
	)
	page.context.set_offline(True)
	try:
		expect(page.locator("body")).to_have_attribute("data-realtime", "offline")
		orders.log(order, 30)  # 30 appends, and history keeps 10 events
	finally:
		page.context.set_offline(False)

	expect(page.get_by_test_id("order-updates")).to_have_text("31", timeout=EVENT_TIMEOUT)
	expect(page.locator("body")).to_have_attribute("data-realtime", "live")
	assert page.evaluate("resynced") == [f"doc:{ORDER}/{order}"]
	assert timeline(page) == ["Order placed", *(f"Note {i}" for i in range(1, 31))]
	assert_same_as_server(page)

	orders.log(order, 1, prefix="After")  # and it goes on live from there
	expect(page.locator("[data-testid=order-timeline] > li").last).to_have_text(
		"After 1", timeout=EVENT_TIMEOUT
	)
	assert_same_as_server(page)


@ONE_PHONE
def test_a_hostile_customer_name_shows_as_text_and_runs_nothing(page: Page, accounts, ana, orders):
	dialogs = []
	page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
	page.add_init_script(
		"window.violations = []; document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective))"
	)
	name = orders.create(HOSTILE, ana)
	open_order(page, accounts, ana, name)
	expect(page.get_by_test_id("order-customer")).to_have_text(HOSTILE)

	pushed = "Sol <script>alert(2)</script><img src=y onerror=alert(3)>"
	orders.update(name, customer=pushed)
	expect(page.get_by_test_id("order-customer")).to_have_text(pushed, timeout=EVENT_TIMEOUT)
	orders.log(name, 1, prefix=HOSTILE)  # an appended item, too
	expect(page.locator("[data-testid=order-timeline] > li").last).to_have_text(
		f"{HOSTILE} 1", timeout=EVENT_TIMEOUT
	)

	assert page.locator("main img, main script").count() == 0
	assert dialogs == []
	assert page.evaluate("violations") == []


@ONE_PHONE
def test_bindings_and_actions_inside_a_morphed_fragment_keep_working(
	page: Page, accounts, ana, orders, order
):
	open_order(page, accounts, ana, order)
	orders.update(order, status="On the way", eta="15 min")  # the card grows an ETA and a button
	expect(page.get_by_test_id("order-eta")).to_have_text("15 min", timeout=EVENT_TIMEOUT)

	orders.eta(order, "7 min")  # a plain event, shown by data-bind-* in the fragment
	expect(page.get_by_test_id("order-eta")).to_have_text("7 min", timeout=EVENT_TIMEOUT)
	orders.update(order, lines=[{"item": "Oat milk", "qty": 1, "rate": 2.2}])  # the card is morphed again
	expect(page.get_by_test_id("order-total")).to_have_text("2.20", timeout=EVENT_TIMEOUT)
	orders.eta(order, "3 min")
	expect(page.get_by_test_id("order-eta")).to_have_text("3 min", timeout=EVENT_TIMEOUT)

	page.get_by_test_id("order-deliver").click()  # data-action, in markup the server pushed
	expect(page.get_by_test_id("order-state")).to_have_text("Delivered", timeout=EVENT_TIMEOUT)
	expect(page.get_by_test_id("order-deliver")).to_have_count(0)
	assert timeline(page).count("Delivered") == 1

	page.get_by_test_id("order-note").fill("Ring twice")
	page.get_by_test_id("order-note-send").click()
	expect(page.locator("[data-testid=order-timeline] > li").last).to_have_text(
		"Note: Ring twice", timeout=EVENT_TIMEOUT
	)
