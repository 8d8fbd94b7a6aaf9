"""(4) Page weight: JS, CSS and HTML bytes a page loads, raw and gzipped.

Every response the page's load fetched is counted by Chromium's resource type, once it
is live (webview: deep link to /webview/count; stock: the signed-in stock Web Page).
API calls and socket.io traffic are data, not page weight, and are left out. The stack's
front does not compress, so "gzipped" is Python's gzip at level 6 over each response.
"""

from __future__ import annotations

import gzip

from . import browser
from .run import KINDS, Bench
from .stats import Results, Row

BUCKETS = {"document": "html", "script": "js", "stylesheet": "css", "font": "other", "image": "other"}
KB = 1024


def run(bench: Bench, results: Results) -> None:
	details = {kind: _weigh(bench, kind) for kind in KINDS}
	results.details["weight"] = details
	wvk, stock = details["webview_kit"], details["stock"]
	section = "4 page weight (KB)"
	rows = []
	for bucket, label in (("js", "JS"), ("css", "CSS"), ("html", "HTML")):
		for form in ("raw", "gzip"):
			target, met = "", None
			if bucket == "js" and form == "gzip":
				target, met = "≤ 20 KB", wvk["js"]["gzip"] <= 20 * KB
			rows.append(
				Row(
					section,
					f"{label} {form}",
					"KB",
					wvk[bucket][form] / KB,
					stock[bucket][form] / KB,
					target=target,
					met=met,
				)
			)
	total = {kind: sum(details[kind][b]["gzip"] for b in ("js", "css", "html")) for kind in KINDS}
	rows.append(
		Row(
			section,
			"whole page (HTML+JS+CSS) gzip",
			"KB",
			total["webview_kit"] / KB,
			total["stock"] / KB,
			target="≤ 30 KB",
			met=total["webview_kit"] <= 30 * KB,
		)
	)
	results.add(*rows)


def _weigh(bench: Bench, kind: str) -> dict:
	context = bench.new_context(kind)
	responses = []
	try:
		page = context.new_page()
		page.on("response", lambda response: responses.append(response))
		page.goto(bench.target(kind))
		browser.wait_live(page, kind)
		page.wait_for_timeout(500)
		sizes = {b: {"raw": 0, "gzip": 0, "files": []} for b in set(BUCKETS.values())}
		for response in responses:
			bucket = BUCKETS.get(response.request.resource_type)
			if not bucket or response.status != 200:
				continue
			body = response.body()
			entry = sizes[bucket]
			entry["raw"] += len(body)
			entry["gzip"] += len(gzip.compress(body, 6))
			entry["files"].append([response.url.replace(bench.url, ""), len(body)])
	finally:
		context.close()
	return sizes
