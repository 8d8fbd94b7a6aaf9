"""`frappe.realtime.off` on a stock Frappe Web Page with the include removes what stock Frappe's removes.

Stock Frappe passes `off(event, handler)` on to socket.io's emitter (@socket.io/component-emitter
3.1): it removes that handler's first listing, and `off(event)` (handler undefined, so it matches
any plain listener) the event's first handler. The page below lists four handlers, takes two
off, and records which ones each event reaches.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from test_web_pages import published_web_page, set_include, signed_in  # noqa: F401 (a fixture)

# Listed once the page has loaded: after Frappe's web bundle made its socket, so that the
# stock page (the include off) connects and hears events too.
PAGE_HTML = """<p>Off</p>
<script>
addEventListener("load", () => {
	const calls = (window.calls = []);
	const handler = (name) => (data) => calls.push([name, data.n]);
	const [a, b, c] = ["a", "b", "c"].map(handler);
	for (const each of [a, b, c, a]) frappe.realtime.on("e2e.off", each);
	frappe.realtime.off("e2e.off", a); // the first a: b, c, a are left
	frappe.realtime.off("e2e.off"); // the first handler, b: c, a are left
	frappe.realtime.off("e2e.other", c); // listed for another event: nothing
	window.listed = true;
});
</script>"""


@pytest.fixture
def off_page(editor) -> str:
	yield from published_web_page(editor, "e2e-off", PAGE_HTML)


@pytest.fixture
def include(editor) -> None:
	set_include(editor, True)
	yield
	set_include(editor, False)


def publish_stock(stack, user: str, n: int) -> None:
	kwargs = {"event": "e2e.off", "message": {"n": n}, "user": user}
	stack.site_output(["execute", "frappe.publish_realtime", "--kwargs", repr(kwargs)])


def test_off_with_and_without_a_handler_removes_what_stock_removes(
	page: Page,
	include,
	signed_in,  # noqa: F811 (the fixture)
	off_page,
	stack,
):
	page.goto(off_page)
	page.wait_for_function("() => window.listed && document.body.dataset.realtime === 'live'")

	publish_stock(stack, signed_in, 1)
	publish_stock(stack, signed_in, 2)  # in order after 1: once it is in, 1 reached everyone it will

	page.wait_for_function("() => window.calls.some(([_name, n]) => n === 2)")
	assert page.evaluate("window.calls") == [["c", 1], ["a", 1], ["c", 2], ["a", 2]]
