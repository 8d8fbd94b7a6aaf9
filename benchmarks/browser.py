"""Debian's Chromium under Playwright, and what the benchmark reads off a page.

Both kinds of page push `[count, published_ms, applied_ms]` onto `window.__bench`
when they apply a value: the stock page from its own `frappe.realtime.on` handler
(benchmarks/inbench.py), a webview page from a `webviewKit.on` handler that this
init script adds the moment the page creates `window.webviewKit`. The webview's own
DOM binding may run after our handler, so the time is taken in a microtask, once
every handler of that event has run.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, Playwright

from stack.chromium import CHROMIUM, CHROMIUM_ARGS

from .stats import best_offset

WEBVIEW_HOOK = """
(() => {
	window.__bench = [];
	let kit;
	Object.defineProperty(window, "webviewKit", {
		configurable: true,
		get: () => kit,
		set(value) {
			kit = value;
			value.on(%r, (data) => {
				queueMicrotask(() => window.__bench.push([data.count, data.t, performance.timeOrigin + performance.now()]));
			});
		},
	});
})();
"""


def launch(playwright: Playwright) -> Browser:
	return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def webview_hook(event: str) -> str:
	return WEBVIEW_HOOK % event


def records(page: Page) -> list[list[float]]:
	"""`[count, published_ms, applied_ms]` of every value the page applied, in order."""
	return page.evaluate("window.__bench || []")


def clock_offset(page: Page) -> dict:
	"""The page's clock minus ours in ms, from the quickest of a few round trips."""
	return best_offset(lambda: page.evaluate("performance.timeOrigin + performance.now()"))


def wait_live(page: Page, kind: str, timeout: float = 30_000) -> None:
	"""Wait until the page's socket is connected (and, for a webview, caught up)."""
	if kind == "webview_kit":
		page.wait_for_selector("body[data-realtime=live]", timeout=timeout)
	else:
		page.wait_for_function(
			"window.frappe && frappe.realtime && frappe.realtime.socket && frappe.realtime.socket.connected",
			timeout=timeout,
			polling=20,
		)
