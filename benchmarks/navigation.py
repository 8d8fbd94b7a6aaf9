"""(3) Navigation to the first live update on a cold page, while 100 events a second go by.

webview_kit: a fresh browser context opens a deep link (redeem, redirect, render, socket,
catch-up). Stock: a fresh context that is already signed in opens the stock live page
(no sign-in step, which favours stock). The time runs from `page.goto` to the page
applying its first event of the stream.

Lost: events published after the navigation began, up to the newest event the page
applied, that it neither applied nor rendered (a webview page renders its room's state
at sequence `webviewKit.initial`; a stock page renders none). Events after the newest
applied one may still be on their way, so they do not count.
"""

from __future__ import annotations

import time

from stack.chromium import wait_until

from . import browser
from .run import KINDS, USERS, Bench
from .stats import Results, Row, summary

WATCH_AFTER_FIRST = 0.5  # seconds to keep watching after the first update
# Where the time went: the document's first byte and DOMContentLoaded, as wall-clock ms.
MILESTONES = """() => {
	const nav = performance.getEntriesByType("navigation")[0];
	const at = (ms) => performance.timeOrigin + ms;
	return { first_byte: at(nav.responseStart), dom_ready: at(nav.domContentLoadedEventEnd) };
}"""


def run(bench: Bench, results: Results) -> None:
	sizes = bench.sizes
	details = {}
	for kind in KINDS:
		targets = [bench.target(kind) for _ in range(sizes.navigation_samples)]
		contexts = [bench.new_context(kind) for _ in targets]
		samples = []
		stream = bench.streamer.start(
			"stream",
			kind=kind,
			user=USERS[kind],
			interval=1 / sizes.navigation_rate,
			start=bench.counts(100_000),
		)
		try:
			time.sleep(0.3)
			for target, context in zip(targets, contexts, strict=True):
				samples.append(_navigate(context, target))
		finally:
			sent = bench.streamer.stop_stream(stream)
			for context in contexts:
				context.close()
		for sample in samples:
			sample["lost"] = _lost(sample, sent)
			sample["applied"] = len(sample.pop("counts"))
		firsts = [s["first_ms"] for s in samples if s["first_ms"] is not None]
		details[kind] = {
			"first_update_ms": summary(firsts),
			"first_byte_ms": summary([s["first_byte_ms"] for s in samples if "first_byte_ms" in s]),
			"dom_ready_ms": summary([s["dom_ready_ms"] for s in samples if "dom_ready_ms" in s]),
			"lost": summary([s["lost"] for s in samples]),
			"samples": samples,
			"rate_per_s": sizes.navigation_rate,
		}
	results.details["navigation"] = details
	wvk, stock = details["webview_kit"], details["stock"]
	section = "3 navigation to first live update (cold page, 100 events/s)"
	wvk_first, stock_first = wvk["first_update_ms"]["p50"], stock["first_update_ms"]["p50"]
	wvk_lost, stock_lost = wvk["lost"]["p50"], stock["lost"]["p50"]
	results.add(
		Row(
			section,
			"first update p50",
			"ms",
			wvk_first,
			stock_first,
			target="≤ 150 ms",
			met=None if wvk_first is None else wvk_first <= 150,
			note="webview: deep link; stock: signed-in context",
		),
		Row(
			section, "first update max", "ms", wvk["first_update_ms"]["max"], stock["first_update_ms"]["max"]
		),
		Row(
			section,
			"events lost per navigation (median)",
			"events",
			wvk_lost,
			stock_lost,
			target="0",
			met=wvk["lost"]["max"] == 0,
		),
	)


def _navigate(context, target: str) -> dict:
	page = context.new_page()
	began = time.time() * 1000
	page.goto(target, wait_until="commit")
	try:
		wait_until(page, "window.__bench && window.__bench.length > 0", timeout=15_000)
	except Exception:
		return {
			"began": began,
			"first_ms": None,
			"counts": [],
			"initial_seq": None,
			"until": time.time() * 1000,
		}
	time.sleep(WATCH_AFTER_FIRST)
	got = browser.records(page)
	initial = page.evaluate("window.webviewKit ? Object.values(window.webviewKit.initial)[0] : null")
	milestones = page.evaluate(MILESTONES)
	page.close()
	return {
		**{f"{name}_ms": at - began for name, at in milestones.items()},
		"began": began,
		"until": max(published for _count, published, _applied in got),
		"first_ms": got[0][2] - began,
		"counts": [r[0] for r in got],
		"initial_seq": initial,
	}


def _lost(sample: dict, sent: list) -> int:
	"""Events published while the page was navigating or watching that it never had."""
	seen = set(sample["counts"])
	lost = 0
	for count, published, seq in sent:
		if not sample["began"] < published <= sample["until"]:
			continue
		rendered = seq is not None and sample["initial_seq"] is not None and seq <= sample["initial_seq"]
		if count not in seen and not rendered:
			lost += 1
	return lost
