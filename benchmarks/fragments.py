"""(11) A list row changes: publish-to-DOM and bytes on the wire per update.

webview_kit: the live list (/webview/list), whose rows are a fragment; the publisher
renders the changed row and pushes it (`publish_fragment`), the page morphs it in. Stock:
a Web Page listing the same 20 tasks whose script, on each `frappe.realtime.on` event,
re-fetches the list with `frappe.call("frappe.client.get_list")` and re-renders it, the
way a stock page follows a list. The goal compares the fragment with a plain event
(`publish()` to /webview/count) measured in the same run: within 1.2x of it.

Bytes count both directions as Chromium's DevTools reports them between the first and
the last measured update: WebSocket frame payloads, and each HTTP request's headers and
body plus its response as received (headers and gzipped body).
"""

from __future__ import annotations

import time

from playwright.sync_api import Page

from . import browser, latency
from .run import USERS, Bench, http_login
from .stats import Results, Row, summary

WARMUP = 5
ROUTE = "/webview/list"
GOAL_RATIO = 1.2
GOAL_BYTES = 2048

# Notes [count, published_ms, applied_ms] when a row fragment whose title is
# "bench <count> <published_ms>" has been morphed in (webviewkit:fragment fires after).
ROW_HOOK = """
window.__bench = [];
document.addEventListener("webviewkit:fragment", ({ detail }) => {
	const title = detail.element?.querySelector?.("[data-field]")?.textContent || "";
	const match = /^bench (\\d+) ([\\d.]+)$/.exec(title);
	if (match) window.__bench.push([Number(match[1]), Number(match[2]), performance.timeOrigin + performance.now()]);
});
"""


class Wire:
	"""Bytes a page sends and receives, as DevTools reports them."""

	def __init__(self, page: Page):
		self.total = 0
		self.counting = False
		cdp = page.context.new_cdp_session(page)
		cdp.send("Network.enable")
		for frame in ("Network.webSocketFrameReceived", "Network.webSocketFrameSent"):
			cdp.on(frame, lambda e: self._add(len(e["response"]["payloadData"].encode())))
		cdp.on("Network.loadingFinished", lambda e: self._add(e["encodedDataLength"]))
		cdp.on("Network.requestWillBeSentExtraInfo", lambda e: self._add(_header_bytes(e["headers"])))
		cdp.on("Network.requestWillBeSent", lambda e: self._add(len(e["request"].get("postData") or "")))

	def _add(self, n: int) -> None:
		if self.counting:
			self.total += n


def _header_bytes(headers: dict) -> int:
	return sum(len(k) + len(str(v)) + 4 for k, v in headers.items())


def run(bench: Bench, results: Results) -> None:
	sizes = bench.sizes
	count = max(20, sizes.latency_events // 3)
	setup = bench.agent.call("fragments_setup", users=USERS)
	details = {}
	try:
		for kind in USERS:
			page = _open(bench, kind, setup)
			try:
				details[kind] = _measure(bench, kind, page, setup, count)
			finally:
				bench.close_page(page)
	finally:
		bench.agent.call("actions_cleanup", doctype=setup["doctype"], tasks=dict(enumerate(setup["tasks"])))
	details["plain_event"] = _plain_event(bench, count)
	results.details["fragments"] = details
	_rows(results, details)


def _open(bench: Bench, kind: str, setup: dict) -> Page:
	context = bench.browser.new_context()
	page = context.new_page()
	if kind == "webview_kit":
		context.add_init_script(ROW_HOOK)
		params = {"doctype": setup["doctype"]}
		(link,) = bench.agent.call("links", user=USERS[kind], route=ROUTE, count=1, params=params)
		page.goto(link)
	else:
		sid = http_login(bench.url, USERS[kind], bench.password)
		context.add_cookies([{"name": "sid", "value": sid, "url": bench.url}])
		page.goto(f"{bench.url}{setup['stock_route']}?doctype={setup['doctype']}")
	browser.wait_live(page, kind)
	return page


def _measure(bench: Bench, kind: str, page: Page, setup: dict, count: int) -> dict:
	wire = Wire(page)
	series = {"kind": kind, "user": USERS[kind], "doctype": setup["doctype"], "tasks": setup["tasks"]}
	interval = max(bench.sizes.latency_interval, 0.05)  # a re-fetch per update must keep up
	start = bench.counts(WARMUP + count)
	warm = bench.agent.call("row_series", **series, count=WARMUP, interval=interval, start=start)
	bench.wait_for_records(page, {i for i, _t in warm})
	wire.counting = True
	sent = bench.agent.call("row_series", **series, count=count, interval=interval, start=start + WARMUP)
	measured = {i for i, _t in sent}
	got = bench.wait_for_records(page, measured)
	time.sleep(0.2)  # the last update's bytes, reported just after it is applied
	wire.counting = False
	applied = {i: at for i, _t, at in got}
	latencies = [applied[i] - t for i, t in sent if i in applied]
	return {
		**summary(latencies),
		"lost": len(measured - set(applied)),
		"bytes_per_update": round(wire.total / count),
		"updates": count,
		"interval_s": interval,
	}


def _plain_event(bench: Bench, count: int) -> dict:
	"""The baseline: publish() of a plain event to /webview/count, in this run."""
	return latency.series(bench, "webview_kit", count, max(bench.sizes.latency_interval, 0.05))


def _rows(results: Results, details: dict) -> None:
	wvk, stock, plain = details["webview_kit"], details["stock"], details["plain_event"]
	section = "11 list row update (fragment vs frappe.call re-fetch)"
	rows = []
	for q in ("p50", "p99"):
		goal = None if plain[q] is None else GOAL_RATIO * plain[q]
		met = None if goal is None or wvk[q] is None else wvk[q] <= goal
		target = f"≤ {GOAL_RATIO}× a plain event ({plain[q]:.2f} ms)" if plain[q] is not None else ""
		rows.append(Row(section, f"publish-to-DOM {q}", "ms", wvk[q], stock[q], target=target, met=met))
	bytes_met = wvk["bytes_per_update"] <= GOAL_BYTES
	rows.append(
		Row(
			section,
			"bytes on the wire per update",
			"B",
			wvk["bytes_per_update"],
			stock["bytes_per_update"],
			target="≤ 2 KB",
			met=bytes_met,
		)
	)
	rows.append(
		Row(section, "updates lost", "updates", wvk["lost"], stock["lost"], target="0", met=wvk["lost"] == 0)
	)
	results.add(*rows)
