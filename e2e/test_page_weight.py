"""Page weight: a webview page's own JS stays within 20 KB gzipped, a small part of a stock Frappe page's.

A page inlines the shell's bundle (script and stylesheet) until the phone has cached it,
then links it (webview_kit/shell.py). Sizes are of the text as the page carries it,
gzipped at level 6 (gzip's default). The numbers are written to
test-results/page-weight.json for the docs.
"""

from __future__ import annotations

import re

import pytest
import requests
from mobile import link, open_page
from playwright.sync_api import Page, expect
from weight import (
	gzipped,
	inline_scripts,
	inline_styles,
	record,
	script_sources,
	shell_assets,
	style_sources,
	weigh,
)

pytestmark = pytest.mark.phones  # every browser test once per phone

BUDGET = 20 * 1024
STOCK_PAGE = "/login"  # a stock Frappe web page, as a signed-out visitor sees it
BUNDLE = re.compile(r"^/assets/webview_kit/dist/js/webview\.bundle\.\w+\.js$")


@pytest.fixture(scope="module")
def webview_html(stack, accounts, people) -> str:
	"""The count page as a deep link opens it on a phone that has cached nothing."""
	session = requests.Session()
	landing = session.get(link(accounts, people.email("Ana", "iphone"), "/webview/count"), timeout=30)
	landing.raise_for_status()
	return landing.text


def only_script(html: str) -> str:
	"""All a first page runs: a line opening its socket early, then the shell's bundle, inline."""
	scripts = inline_scripts(html)
	assert script_sources(html) == [] and len(scripts) == 2, (script_sources(html), len(scripts))
	early_socket, bundle = scripts
	assert "new WebSocket" in early_socket and len(early_socket) < 300
	return early_socket + bundle


def test_a_first_page_carries_its_one_script_inline_within_the_budget(webview_html):
	js = gzipped(only_script(webview_html).encode())
	(style,) = inline_styles(webview_html)
	record(webview_js_gz=js, webview_css_gz=gzipped(style.encode()), webview_html=len(webview_html.encode()))
	assert style_sources(webview_html) == []
	assert js <= BUDGET, f"the webview bundle is {js} bytes gzipped, over the {BUDGET}-byte budget"


def test_a_page_with_fragments_carries_the_same_one_script(stack, accounts, people, orders, webview_html):
	"""The order page: live fragments (idiomorph) are in the shell's bundle, within the budget."""
	ana = people.email("Ana", "iphone")
	landing = requests.get(
		link(accounts, ana, "/webview/order", name=orders.create("Weight", ana)), timeout=30
	)
	landing.raise_for_status()

	assert "data-fragment=" in landing.text
	assert only_script(landing.text) == only_script(webview_html)


def test_the_inlined_bundle_is_the_built_one(stack, webview_html):
	script, style = shell_assets(webview_html)
	assert BUNDLE.match(script), script
	built = requests.get(stack.url + script, timeout=30).text.rstrip()
	# The same text, but for the source map, which the inline copy names from the site's root.
	assert inline_scripts(webview_html)[1] == re.sub(
		r"(sourceMappingURL=)", r"\1" + script.rsplit("/", 1)[0] + "/", built
	)
	assert inline_styles(webview_html)[0].startswith(requests.get(stack.url + style, timeout=30).text[:200])


def test_stock_frappe_page_carries_far_more_script(stack, webview_html):
	stock = requests.get(stack.url + STOCK_PAGE, timeout=30)
	stock.raise_for_status()

	stock_js = weigh(stack.url, [s for s in script_sources(stock.text) if s.startswith("/")])
	stock_css = weigh(stack.url, [s for s in style_sources(stock.text) if s.startswith("/")])
	webview_js = gzipped(only_script(webview_html).encode())
	record(stock_page=STOCK_PAGE, stock_js_gz=stock_js, stock_css_gz=stock_css, stock_html=len(stock.content))
	assert "frappe-web.bundle" in stock.text and "frappe-web.bundle" not in webview_html
	assert webview_js * 5 < stock_js, (webview_js, stock_js)


def test_a_phone_fetches_no_script_for_its_first_page_and_the_next_ones_link_the_cached_bundle(
	page: Page, accounts, ana
):
	scripts: list = []
	page.on("response", lambda r: r.request.resource_type == "script" and scripts.append(r))
	cdp = page.context.new_cdp_session(page)
	cdp.send("Network.enable")
	served, cached = set(), set()  # from the memory cache, then the URLs of all from a cache
	cdp.on("Network.requestServedFromCache", lambda e: served.add(e["requestId"]))
	preloaded = set()  # what the live page fetches into the cache for the next one
	cdp.on(
		"Network.requestWillBeSent",
		lambda e: e["request"].get("isLinkPreload") and preloaded.add(e["request"]["url"]),
	)
	cdp.on(
		"Network.responseReceived",
		lambda e: (
			(e["response"].get("fromDiskCache") or e["requestId"] in served)
			and cached.add(e["response"]["url"])
		),
	)

	open_page(page, link(accounts, ana, "/webview/count"), "/webview/count")
	# Once live, the page fetches its bundle into the cache and says so in a cookie.
	page.wait_for_function("() => document.cookie.includes('wvk_shell=')")
	assert [r.url for r in scripts if r.url not in preloaded] == []
	scripts.clear()

	page.reload()
	expect(page.locator("body")).to_have_attribute("data-realtime", "live")
	assert [re.sub(r"\.\w+\.js$", ".js", r.url.split("/")[-1]) for r in scripts] == ["webview.bundle.js"]
	assert scripts[0].url in cached, "the bundle came from the network"
	assert gzipped(scripts[0].body()) <= BUDGET


def test_a_cookie_naming_another_build_gets_the_bundle_inline(stack, accounts, people):
	session = requests.Session()
	session.cookies.set("wvk_shell", "an-old-build")
	landing = session.get(link(accounts, people.email("Ana", "iphone"), "/webview/count"), timeout=30)
	only_script(landing.text)


def test_the_front_compresses_what_it_serves(stack, webview_html):
	script, _style = shell_assets(webview_html)
	for path in (script, STOCK_PAGE):
		response = requests.get(stack.url + path, headers={"Accept-Encoding": "gzip"}, timeout=30)
		assert response.headers.get("Content-Encoding") == "gzip", path
