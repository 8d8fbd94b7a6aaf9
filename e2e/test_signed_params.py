"""A deep link opens one route with the parameters it was issued with, and nothing else.

The order page on the real stack, on both phones: a link issued for order A opens A, and
whatever the phone (or anyone holding the link) changes in it is refused with the link-error
page, on the redeem and on every later request of its session.
"""

from __future__ import annotations

import json
import re

import pytest
from mobile import link, open_page
from playwright.sync_api import Page, expect

from stack.supervisor import StackError

ROUTE = "/webview/order"
REFUSED = "This link opens something else"


@pytest.fixture(scope="module")
def one_user(accounts) -> str:
	"""One user of the pool for this module's many single-device tests (each issues its own links)."""
	return accounts.take()


@pytest.fixture
def reader(request, phone) -> str:
	"""Who the links are for: this phone's Ana where the test runs per phone, else `one_user`."""
	return request.getfixturevalue("ana" if phone else "one_user")


@pytest.fixture
def order_a(orders, reader) -> str:
	return orders.create("Order A", reader)


@pytest.fixture
def order_b(orders, reader) -> str:
	return orders.create("Order B", reader)


def server_message(response) -> str:
	messages = json.loads(response.json().get("_server_messages") or "[]")
	return " ".join(json.loads(m)["message"] for m in messages)


def expect_refused(page: Page, response) -> None:
	assert response.status == 403, response.status
	expect(page.get_by_test_id("link-error")).to_have_text(REFUSED)
	expect(page.locator("body")).to_have_attribute("data-link-error", "wrong_params")


@pytest.mark.phones
def test_a_link_for_order_a_opened_with_order_b_is_refused_and_still_opens_a(
	page: Page, accounts, reader, order_a, order_b, phone
):
	signed = link(accounts, reader, ROUTE, name=order_a)

	expect_refused(page, page.goto(f"{signed}&name={order_b}"))
	assert not [c for c in page.context.cookies() if c["name"] == "sid" and c["value"] != "Guest"]

	open_page(page, signed, ROUTE)
	expect(page).to_have_url(re.compile(rf"{ROUTE}\?name={order_a}$"))
	expect(page).to_have_title(f"Order {order_a}")
	assert order_b not in page.content()
	expect_refused(page, page.goto(f"{ROUTE}?name={order_b}"))


@pytest.mark.phones
def test_the_signed_link_opens_exactly_its_order_and_a_reload_keeps_it(
	page: Page, accounts, reader, order_a, phone
):
	open_page(page, link(accounts, reader, ROUTE, name=order_a), ROUTE)
	expect(page).to_have_url(re.compile(rf"{ROUTE}\?name={order_a}$"))
	rooms = page.evaluate("Object.keys(JSON.parse(document.getElementById('wvk-config').textContent).rooms)")
	assert rooms == [f"doc:Webview Demo Order/{order_a}"]

	assert page.reload().status == 200
	expect(page.locator("body")).to_have_attribute("data-realtime", "live", timeout=15_000)
	expect(page).to_have_title(f"Order {order_a}")


# What a redeem or a later request may not change: (label, the query for order A and B).
CHANGED_QUERIES = [
	("another order", lambda a, b: f"name={b}"),
	("missing", lambda a, b: ""),
	("duplicated", lambda a, b: f"name={a}&name={b}"),
	("extra", lambda a, b: f"name={a}&tab=2"),
	("reordered, with an extra", lambda a, b: f"tab=2&name={a}"),
	("percent-encoded", lambda a, b: f"name={''.join(f'%{ord(c):02X}' for c in a)}"),
	("one character percent-encoded", lambda a, b: f"name=%{ord(a[0]):02X}{a[1:]}"),
	("trailing &", lambda a, b: f"name={a}&"),
]


@pytest.mark.parametrize("label, changed", CHANGED_QUERIES, ids=[row[0] for row in CHANGED_QUERIES])
def test_a_link_opened_with_a_changed_query_is_refused(
	page: Page, accounts, reader, order_a, order_b, label, changed
):
	token = link(accounts, reader, ROUTE, name=order_a).split("wvt=")[1]
	query = changed(order_a, order_b)

	expect_refused(page, page.goto(f"{ROUTE}?{query}{'&' if query else ''}wvt={token}"))


@pytest.mark.parametrize("label, changed", CHANGED_QUERIES, ids=[row[0] for row in CHANGED_QUERIES])
def test_the_session_refuses_its_page_with_a_changed_query(
	page: Page, accounts, reader, order_a, order_b, label, changed
):
	open_page(page, link(accounts, reader, ROUTE, name=order_a), ROUTE)

	expect_refused(page, page.goto(f"{ROUTE}?{changed(order_a, order_b)}"))
	assert page.goto(f"{ROUTE}?name={order_a}").status == 200


# Parameters moved into a body: (label, how to send it, given the page's CSRF token and A and B).
BODIES = [
	(
		"a form body",
		lambda r, csrf, a, b: r.post(ROUTE, form={"name": a}, headers={"X-Frappe-CSRF-Token": csrf}),
	),
	(
		"a form body beside the signed query",
		lambda r, csrf, a, b: r.post(
			f"{ROUTE}?name={a}", form={"name": b}, headers={"X-Frappe-CSRF-Token": csrf}
		),
	),
	(
		"a JSON body",
		lambda r, csrf, a, b: r.post(
			ROUTE,
			data=json.dumps({"name": b}),
			headers={"X-Frappe-CSRF-Token": csrf, "Content-Type": "application/json"},
		),
	),
]


@pytest.mark.parametrize("label, send", BODIES, ids=[row[0] for row in BODIES])
def test_parameters_moved_into_a_body_are_refused(
	page: Page, accounts, reader, order_a, order_b, label, send
):
	open_page(page, link(accounts, reader, ROUTE, name=order_a), ROUTE)
	csrf = page.evaluate("JSON.parse(document.getElementById('wvk-config').textContent).csrf_token")

	response = send(page.request, csrf, order_a, order_b)

	assert response.status == 403, response.text()[:300]
	assert 'data-link-error="wrong_params"' in response.text()
	assert f"Order {order_b}" not in response.text()


# A link that cannot be issued: (label, route, params, the reason the backend is told).
REFUSED_AT_ISSUE = [
	("missing the order", ROUTE, {}, "needs the parameter 'name'"),
	("an unknown parameter", ROUTE, {"name": "{a}", "tab": "2"}, "takes no parameter 'tab'"),
	("a page that takes none", "/webview/count", {"name": "{a}"}, "takes no parameters"),
	("a control character", ROUTE, {"name": "{a}\u0007"}, "must be 1 to 140 printable characters"),
	("too long", ROUTE, {"name": "W" * 141}, "must be 1 to 140 printable characters"),
	("an order the user cannot read", ROUTE, {"name": "{other}"}, "cannot read Webview Demo Order"),
	("an order that does not exist", ROUTE, {"name": "WDO-NOPE-1"}, "cannot read Webview Demo Order"),
]


@pytest.mark.parametrize(
	"label, route, params, reason", REFUSED_AT_ISSUE, ids=[r[0] for r in REFUSED_AT_ISSUE]
)
def test_a_link_that_cannot_open_is_refused_at_issue_with_its_reason(
	accounts, orders, reader, order_a, label, route, params, reason
):
	other = orders.create("Not theirs", share_with="Administrator")
	params = {k: v.format(a=order_a, other=other) for k, v in params.items()}

	response = accounts.issue(reader, route, params=params)

	assert response.status_code == 417, response.text[:300]
	assert reason in server_message(response)


@pytest.mark.phones
def test_the_bench_command_signs_the_parameters_it_is_given(page: Page, stack, reader, order_a, phone):
	argv = ["webview", "link", "--user", reader, "--route", ROUTE, "--param", f"name={order_a}"]
	url = stack.site_output(argv).strip().splitlines()[-1]
	assert f"{ROUTE}?name={order_a}&wvt=" in url

	open_page(page, url, ROUTE)
	expect(page).to_have_title(f"Order {order_a}")


def test_the_bench_command_refuses_a_link_missing_its_parameter(stack, reader):
	with pytest.raises(StackError) as refused:
		stack.site_output(["webview", "link", "--user", reader, "--route", ROUTE])
	assert "needs the parameter 'name'" in str(refused.value)
