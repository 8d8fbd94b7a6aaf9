"""(7) Tap to updated: a comment tapped on one page, until it shows there and on a second page.

webview_kit: the workflow webview's comment form (`<form data-action>`: an exactly-once
action with an id, its outcome stored in the same transaction) on a worker's deep-link
page; the second page is another user's workflow page on the same document. Stock: a
Web Page whose button does `frappe.call` to a whitelisted method that saves the comment
and `publish_realtime`s it to the document's room (webview_kit_demo/stock.py), followed on
both pages with `frappe.realtime.on` after `doc_subscribe`. Both times run from the click
to the moment each page's handler ran, on this machine's clock (one Chromium).
"""

from __future__ import annotations

import time

from .run import Bench, http_login
from .stats import Results, Row, summary

WARMUP = 3
CLICKERS = {"webview_kit": "bench-webview@webview-kit.test", "stock": "bench-stock@webview-kit.test"}
VIEWERS = {"webview_kit": "bench-viewer@webview-kit.test", "stock": "bench-stock-viewer@webview-kit.test"}
ROUTE = "/webview/workflow"
COMMENT_EVENT = "webview_kit.comment"

# Notes when each comment reaches a webview page's handlers (added before the bundle runs).
WEBVIEW_HOOK = """
(() => {
	window.__seen = {};
	let kit;
	Object.defineProperty(window, "webviewKit", {
		configurable: true,
		get: () => kit,
		set(value) {
			kit = value;
			value.on("EVENT", (data) => { window.__seen[data.text] = performance.timeOrigin + performance.now(); });
		},
	});
})();
""".replace("EVENT", COMMENT_EVENT)
CLICK = {
	"webview_kit": """(text) => {
		document.querySelector("[data-testid=comment-text]").value = text;
		const t = performance.timeOrigin + performance.now();
		document.querySelector("[data-testid=comment-send]").click();
		return t;
	}""",
	"stock": """(text) => {
		document.getElementById("bench-text").value = text;
		const t = performance.timeOrigin + performance.now();
		document.getElementById("bench-send").click();
		return t;
	}""",
}


def run(bench: Bench, results: Results) -> None:
	setup = bench.agent.call("actions_setup", clickers=CLICKERS, viewers=VIEWERS)
	taps = max(10, bench.sizes.latency_events // 10)
	details = {}
	try:
		for kind in CLICKERS:
			clicker, viewer = (_open(bench, kind, who, setup) for who in (CLICKERS, VIEWERS))
			try:
				details[kind] = _measure(kind, clicker, viewer, taps)
			finally:
				clicker.context.close()
				viewer.context.close()
	finally:
		bench.agent.call("actions_cleanup", doctype=setup["doctype"], tasks=setup["tasks"])
	results.details["actions"] = details
	wvk, stock = details["webview_kit"], details["stock"]
	section = "7 tap to updated (a comment, exactly once vs frappe.call)"
	rows = []
	for page, label in (("clicker", "clicking page"), ("viewer", "second page")):
		for q in ("p50", "p99"):
			target = {"p50": "≤ stock", "p99": ""}[q]
			a, b = wvk[page][q], stock[page][q]
			met = None if not target or a is None or b is None else a <= b
			rows.append(Row(section, f"{label} {q}", "ms", a, b, target=target, met=met))
	rows.append(
		Row(
			section,
			"taps not shown",
			"taps",
			wvk["missing"],
			stock["missing"],
			target="0",
			met=wvk["missing"] == 0,
		)
	)
	results.add(*rows)


def _open(bench: Bench, kind: str, users: dict, setup: dict):
	user, task = users[kind], setup["tasks"][kind]
	context = bench.browser.new_context()
	page = context.new_page()
	if kind == "webview_kit":
		context.add_init_script(WEBVIEW_HOOK)
		params = {"doctype": setup["doctype"], "name": task}
		(link,) = bench.agent.call("links", user=user, route=ROUTE, count=1, params=params)
		page.goto(link)
		page.wait_for_selector("body[data-realtime=live]", timeout=30_000)
	else:
		sid = http_login(bench.url, user, bench.password)
		context.add_cookies([{"name": "sid", "value": sid, "url": bench.url}])
		page.goto(f"{bench.url}{setup['stock_route']}?doctype={setup['doctype']}&name={task}")
		page.wait_for_function("window.frappe?.realtime?.socket?.connected && window.__seen", timeout=30_000)
	return page


def _measure(kind: str, clicker, viewer, taps: int) -> dict:
	took = {"clicker": [], "viewer": []}
	missing = 0
	for i in range(WARMUP + taps):
		text = f"bench {kind} {i} {time.time()}"
		clicked = clicker.evaluate(CLICK[kind], text)
		seen = _wait_seen((clicker, viewer), text, timeout=10 if i >= WARMUP else 30)
		if i < WARMUP:
			continue
		if None in seen:
			missing += 1
			continue
		took["clicker"].append(seen[0] - clicked)
		took["viewer"].append(seen[1] - clicked)
		time.sleep(0.05)
	return {"clicker": summary(took["clicker"]), "viewer": summary(took["viewer"]), "missing": missing}


def _wait_seen(pages, text: str, timeout: float) -> list[float | None]:
	deadline = time.monotonic() + timeout
	while True:
		seen = [page.evaluate("(text) => window.__seen[text] ?? null", text) for page in pages]
		if None not in seen or time.monotonic() > deadline:
			return seen
		time.sleep(0.02)
