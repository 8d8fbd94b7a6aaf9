"""(4) Page weight: JS, CSS and HTML bytes a page loads, raw and gzipped.

Every response the page's load fetched is counted by Chromium's resource type, once it
is live (webview: deep link to /webview/count; stock: the signed-in stock Web Page).
API calls and socket.io traffic are data, not page weight, and are left out. Inline
scripts and styles count as JS and CSS (a webview page inlines its bundle until the phone
has cached it; a stock page inlines its boot data). "Gzipped" is Python's gzip at level 6
over each part, so the figures do not depend on the front's settings.
"""

from __future__ import annotations

import gzip
import re

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
			name = response.url.replace(bench.url, "")
			if bucket == "html":
				# Inline script and style count as JS and CSS, on either kind of page.
				for inline_bucket, texts in _inline(body).items():
					for text in texts:
						_add(sizes[inline_bucket], f"{name} (inline)", text)
						body = body.replace(text, b"", 1)
			_add(sizes[bucket], name, body)
	finally:
		context.close()
	return sizes


def _add(entry: dict, name: str, body: bytes) -> None:
	entry["raw"] += len(body)
	entry["gzip"] += len(gzip.compress(body, 6))
	entry["files"].append([name, len(body)])


def _inline(html: bytes) -> dict[str, list[bytes]]:
	"""The text of a document's inline scripts that run (not JSON data) and its inline styles."""
	scripts = re.findall(rb"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
	return {
		"js": [
			text
			for attributes, text in scripts
			if text.strip() and b"src=" not in attributes and b"json" not in attributes
		],
		"css": re.findall(rb"<style\b[^>]*>(.*?)</style>", html, re.DOTALL),
	}
