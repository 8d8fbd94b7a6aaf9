"""Page weight: a webview page's own JS stays within 20 KB gzipped, a small part of a stock Frappe page's.

Sizes are of the built assets as the stack's front serves them, gzipped at level 6
(gzip's default). The numbers are written to test-results/page-weight.json for the docs.
"""

from __future__ import annotations

import re

import pytest
import requests
from mobile import link, open_page
from playwright.sync_api import Page
from weight import gzipped, record, script_sources, style_sources, weigh

pytestmark = pytest.mark.phones  # every browser test once per phone

BUDGET = 20 * 1024
STOCK_PAGE = "/login"  # a stock Frappe web page, as a signed-out visitor sees it


@pytest.fixture(scope="module")
def webview_html(stack, accounts, people) -> str:
	"""The count page as a deep link opens it."""
	session = requests.Session()
	landing = session.get(link(accounts, people.email("Ana", "iphone"), "/webview/count"), timeout=30)
	landing.raise_for_status()
	return landing.text


def test_webview_page_loads_one_script_and_it_is_within_the_budget(stack, webview_html):
	scripts = script_sources(webview_html)

	assert len(scripts) == 1 and re.match(
		r"^/assets/webview_kit/dist/js/webview\.bundle\.\w+\.js$", scripts[0]
	)
	js = weigh(stack.url, scripts)
	css = weigh(stack.url, style_sources(webview_html))
	record(webview_js_gz=js, webview_css_gz=css, webview_html=len(webview_html.encode()))
	assert js <= BUDGET, f"the webview bundle is {js} bytes gzipped, over the {BUDGET}-byte budget"


def test_a_page_with_fragments_loads_the_same_one_script(stack, accounts, people, orders):
	"""The order page: live fragments (idiomorph) are in the shell's bundle, within the budget."""
	ana = people.email("Ana", "iphone")
	session = requests.Session()
	landing = session.get(
		link(accounts, ana, "/webview/order", name=orders.create("Weight", ana)), timeout=30
	)
	landing.raise_for_status()
	scripts = script_sources(landing.text)

	assert len(scripts) == 1 and re.match(
		r"^/assets/webview_kit/dist/js/webview\.bundle\.\w+\.js$", scripts[0]
	)
	assert "data-fragment=" in landing.text
	assert weigh(stack.url, scripts) <= BUDGET


def test_stock_frappe_page_carries_far_more_script(stack, webview_html):
	stock = requests.get(stack.url + STOCK_PAGE, timeout=30)
	stock.raise_for_status()

	stock_js = weigh(stack.url, [s for s in script_sources(stock.text) if s.startswith("/")])
	stock_css = weigh(stack.url, [s for s in style_sources(stock.text) if s.startswith("/")])
	webview_js = weigh(stack.url, script_sources(webview_html))
	record(stock_page=STOCK_PAGE, stock_js_gz=stock_js, stock_css_gz=stock_css, stock_html=len(stock.content))
	assert "frappe-web.bundle" in stock.text and "frappe-web.bundle" not in webview_html
	assert webview_js * 5 < stock_js, (webview_js, stock_js)


def test_phone_fetches_no_script_but_the_bundle(page: Page, accounts, ana):
	scripts: list = []
	page.on("response", lambda r: r.request.resource_type == "script" and scripts.append(r))

	open_page(page, link(accounts, ana, "/webview/count"), "/webview/count")

	assert [re.sub(r"\.\w+\.js$", ".js", r.url.split("/")[-1]) for r in scripts] == ["webview.bundle.js"]
	assert gzipped(scripts[0].body()) <= BUDGET


def test_the_front_compresses_what_it_serves(stack, webview_html):
	script = next(src for src in script_sources(webview_html) if "webview.bundle" in src)
	for path in (script, STOCK_PAGE):
		response = requests.get(stack.url + path, headers={"Accept-Encoding": "gzip"}, timeout=30)
		assert response.headers.get("Content-Encoding") == "gzip", path
