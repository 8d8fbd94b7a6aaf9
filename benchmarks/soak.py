"""(10) A page that stays open: its JS heap and DOM after 1,000 events and after many more.

Each kind's page (the webview count page; the stock Web Page following its event with
`frappe.realtime.on`) stays open while the run publishes to it in chunks, waiting after
each chunk until the page applied the last value. At each checkpoint Chromium collects
garbage (CDP `HeapProfiler.collectGarbage`) and the run reads the heap in use
(`Runtime.getHeapUsage`), the DOM's node count (`Memory.getDOMCounters`) and the size of
its markup. The harness's own record of applied values (`window.__bench`, on both pages)
is emptied before every reading, so only what the page itself keeps is measured.

The target is issue 16's: after 100,000 events, heap and DOM within 2 MB of what they
were after 1,000.
"""

from __future__ import annotations

import time

from .run import KINDS, USERS, Bench
from .stats import Results, Row

FIRST = 1_000
CHUNK = 10_000
LIMIT_MB = 2.0
APPLY_TIMEOUT = 120

READ_DOM = "({html: document.documentElement.outerHTML.length})"


def run(bench: Bench, results: Results) -> None:
	total = bench.sizes.soak_events
	details = {kind: _soak(bench, kind, total) for kind in KINDS}
	results.details["soak"] = details
	wvk, stock = details["webview_kit"], details["stock"]
	section = f"10 a page left open: growth from {FIRST:,} to {total:,} events"
	heap_w, dom_w = wvk["growth"]["heap_mb"], wvk["growth"]["html_mb"]
	results.add(
		Row(
			section,
			"JS heap growth (after GC)",
			"MB",
			heap_w,
			stock["growth"]["heap_mb"],
			target=f"≤ {LIMIT_MB:g} MB",
			met=heap_w <= LIMIT_MB,
		),
		Row(
			section,
			"DOM markup growth",
			"MB",
			dom_w,
			stock["growth"]["html_mb"],
			target=f"≤ {LIMIT_MB:g} MB",
			met=dom_w <= LIMIT_MB,
		),
		Row(section, "DOM nodes growth", "nodes", wvk["growth"]["nodes"], stock["growth"]["nodes"]),
		Row(
			section, f"JS heap after {total:,} events", "MB", wvk["last"]["heap_mb"], stock["last"]["heap_mb"]
		),
	)


def _soak(bench: Bench, kind: str, total: int) -> dict:
	page = bench.open_live(kind)
	try:
		cdp = page.context.new_cdp_session(page)
		published = 0
		readings = {}
		started = time.monotonic()
		rest = total - FIRST
		for size in [FIRST, *[CHUNK] * (rest // CHUNK), *([rest % CHUNK] if rest % CHUNK else [])]:
			start = bench.counts(size)
			sent = bench.agent.call(
				"series", kind=kind, user=USERS[kind], count=size, interval=0, start=start
			)
			published += len(sent)
			_wait_applied(page, sent[-1][0])
			if published == FIRST:
				readings[published] = _reading(page, cdp)
		readings[published] = _reading(page, cdp)
		first, last = readings[FIRST], readings[published]
		print(
			f"   {kind}: heap {first['heap_mb']:.2f} MB after {FIRST:,} events, {last['heap_mb']:.2f} MB after"
			f" {published:,}; DOM {first['nodes']} → {last['nodes']} nodes",
			flush=True,
		)
		return {
			"events": published,
			"seconds": time.monotonic() - started,
			"readings": {str(k): v for k, v in readings.items()},
			"first": first,
			"last": last,
			"growth": {
				"heap_mb": last["heap_mb"] - first["heap_mb"],
				"html_mb": last["html_mb"] - first["html_mb"],
				"nodes": last["nodes"] - first["nodes"],
			},
		}
	finally:
		bench.close_page(page)


def _wait_applied(page, count: int) -> None:
	"""Wait until the page applied value `count`, emptying the harness's record as it goes."""
	deadline = time.monotonic() + APPLY_TIMEOUT
	while True:
		done = page.evaluate(
			"""(count) => {
				const got = window.__bench || [];
				const done = got.some((r) => r[0] === count);
				got.length = 0;
				return done;
			}""",
			count,
		)
		if done:
			return
		if time.monotonic() > deadline:
			raise TimeoutError(f"the page did not apply value {count} within {APPLY_TIMEOUT}s")
		time.sleep(0.1)


def _reading(page, cdp) -> dict:
	"""Heap in use after a full garbage collection, DOM nodes and markup size."""
	page.evaluate("window.__bench && (window.__bench.length = 0)")
	for _ in range(2):  # a second pass frees what the first one's finalizers released
		cdp.send("HeapProfiler.collectGarbage")
	heap = cdp.send("Runtime.getHeapUsage")
	counters = cdp.send("Memory.getDOMCounters")
	dom = page.evaluate(READ_DOM)
	return {
		"heap_mb": heap["usedSize"] / 1e6,
		"heap_total_mb": heap["totalSize"] / 1e6,
		"nodes": counters["nodes"],
		"listeners": counters["jsEventListeners"],
		"html_mb": dom["html"] / 1e6,
	}
