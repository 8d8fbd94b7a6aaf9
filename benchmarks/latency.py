"""(1) Publish-to-DOM latency for one page: the publisher's timestamp to the page applying it.

webview_kit: `publish()` to the user's room, applied by /webview/count (its count
element updates). Stock: `frappe.publish_realtime(user=...)` into a stock "Web Page"
whose own script follows the event with `frappe.realtime.on` and updates the DOM.
Both pages live in one Chromium on this machine, so both clocks are this machine's.
"""

from __future__ import annotations

from . import browser
from .run import KINDS, USERS, Bench
from .stats import Results, Row, summary

WARMUP = 5


def run(bench: Bench, results: Results) -> None:
	sizes = bench.sizes
	details = {}
	for kind in KINDS:
		details[kind] = series(bench, kind, sizes.latency_events, sizes.latency_interval)
	results.details["latency"] = details
	wvk, stock = details["webview_kit"], details["stock"]
	section = "1 publish-to-DOM, one page"
	results.add(
		Row(
			section,
			"p50",
			"ms",
			wvk["p50"],
			stock["p50"],
			target="≤ stock",
			met=_le(wvk["p50"], stock["p50"]),
		),
		Row(section, "p95", "ms", wvk["p95"], stock["p95"]),
		Row(
			section,
			"p99",
			"ms",
			wvk["p99"],
			stock["p99"],
			target="≤ stock and ≤ 5 ms",
			met=_le(wvk["p99"], stock["p99"]) and _le(wvk["p99"], 5),
		),
		Row(section, "events lost", "events", wvk["lost"], stock["lost"], target="0", met=wvk["lost"] == 0),
	)


def series(bench: Bench, kind: str, events: int, interval: float) -> dict:
	"""Publish `events` count values (after a warm-up) to a live page of `kind`, one every
	`interval` s; summarise publish-to-DOM, with what was lost."""
	page = bench.open_live(kind)
	try:
		offset = browser.clock_offset(page)
		start = bench.counts(WARMUP + events)
		sent = bench.agent.call(
			"series", kind=kind, user=USERS[kind], count=WARMUP + events, interval=interval, start=start
		)
		measured = {count for count, *_ in sent[WARMUP:]}
		got = bench.wait_for_records(page, measured)
	finally:
		bench.close_page(page)
	latencies = [applied - t for count, t, applied in got if count in measured]
	return {
		**summary(latencies),
		"lost": len(measured - {r[0] for r in got}),
		"publish_call_ms": summary([call for *_, call in sent[WARMUP:]]),
		"page_clock": offset,
		"events": len(measured),
		"interval_s": interval,
	}


def _le(a, b) -> bool | None:
	return None if a is None or b is None else a <= b
