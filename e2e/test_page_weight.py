"""Page weight: a webview page's own JS stays within 20 KB gzipped, a small part of a stock Frappe page's.

Sizes are of the built assets as the stack's front serves them, gzipped at level 6
(gzip's default). The numbers are written to test-results/page-weight.json for the docs.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
import requests
from mobile import link, open_page
from playwright.sync_api import Page

pytestmark = pytest.mark.phones  # every browser test once per phone

BUDGET = 20 * 1024
REPORT = Path("test-results/page-weight.json")
STOCK_PAGE = "/login"  # a stock Frappe web page, as a signed-out visitor sees it


def gzipped(body: bytes) -> int:
	return len(gzip.compress(body, compresslevel=6))


def script_sources(html: str) -> list[str]:
	return re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", html)


def style_sources(html: str) -> list[str]:
	return re.findall(r"<link\b[^>]*\brel=\"stylesheet\"[^>]*\bhref=\"([^\"]+)\"", html)


def weigh(base_url: str, sources: list[str]) -> int:
	total = 0
	for source in sources:
		response = requests.get(base_url + source, timeout=30)
		response.raise_for_status()
		total += gzipped(response.content)
	return total


def record(**numbers) -> None:
	REPORT.parent.mkdir(parents=True, exist_ok=True)
	report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
	REPORT.write_text(json.dumps({**report, **numbers}, indent=1))


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
