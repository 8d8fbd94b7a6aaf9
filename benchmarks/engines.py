"""(12) Tap to live by engine: a cold Chromium and a cold WebKit open a deep link on loopback.

Row 9 puts a phone's network between page and stack with Chromium's network emulation;
WebKitGTK's WebDriver has no such switch, so this row runs on loopback, unthrottled, in
both engines side by side: what each engine itself costs from the tap to a live page.
Cold: a fresh Chromium context, a fresh WebKitGTK browser (stack/webkit.py), nothing
cached. The time is the page's own, from the navigation's start (the tap: the deep link's
request) to its `webviewkit:live` mark, so neither harness's polling counts. Printed,
never asserted.
"""

from __future__ import annotations

import statistics

from stack.webkit import webkit_display, webkit_driver

from .phone_network import PHASES
from .run import Bench
from .stats import Results, Row, summary

SAMPLES = 5
SECTION = "12 tap to live on loopback, by engine (cold)"
LIVE_MS = "performance.getEntriesByName('webviewkit:live')[0].startTime"


def _chromium(bench: Bench) -> dict:
	context = bench.browser.new_context()
	try:
		page = context.new_page()
		page.goto(bench.target("webview_kit"))
		page.wait_for_selector("body[data-realtime=live]", timeout=60_000)
		return {"ms": page.evaluate(LIVE_MS), "phases_ms": page.evaluate(PHASES)}
	finally:
		context.close()


def _webkit(bench: Bench) -> dict:
	from selenium.webdriver.support.wait import WebDriverWait

	with webkit_driver() as driver:
		driver.get(bench.target("webview_kit"))
		live = "return document.body.dataset.realtime === 'live'"
		WebDriverWait(driver, 60, poll_frequency=0.05).until(lambda d: d.execute_script(live))
		return {
			"ms": driver.execute_script(f"return {LIVE_MS}"),
			"phases_ms": driver.execute_script(f"return ({PHASES})()"),
		}


def run(bench: Bench, results: Results) -> None:
	with webkit_display():
		samples = {
			"chromium": [_chromium(bench) for _ in range(SAMPLES)],
			"webkit": [_webkit(bench) for _ in range(SAMPLES)],
		}
	for engine, label in (("chromium", "Chromium"), ("webkit", "WebKit (WebKitGTK)")):
		times = [s["ms"] for s in samples[engine]]
		results.add(
			Row(
				SECTION,
				f"{label}: deep link to live, median",
				"ms",
				statistics.median(times),
				None,
				note="webview_kit only; loopback, no network emulation",
			)
		)
		samples[engine] = {"summary_ms": summary(times), "samples": samples[engine]}
	results.details["engines"] = samples
