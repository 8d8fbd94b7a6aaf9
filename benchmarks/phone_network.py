"""(9) Tap to live on a phone's network: a cold WebView opens a deep link under emulated latency.

Chromium's own network emulation (CDP `Network.emulateNetworkConditions`) puts a phone's
round trip and bandwidth between the page and the loopback stack. webview_kit: a cold
context opens a fresh deep link until the page is live (redeem, redirect, document,
assets, socket, catch-up). Stock: a cold context already signed in opens the stock live
page until its first live event (events stream at 10 a second; no sign-in step, which
favours stock). Requests and bytes are what the network carried, WebSocket frames included.
Both columns end when the page itself applied the moment (its own clock, offset to ours),
not when Playwright's polling noticed it.

Each webview sample breaks its time into phases from the page's own timings: the redirect
that strips the token, the document, the assets, the socket (open and authenticated, up to
the `webviewkit:connected` mark) and the catch-up (up to `webviewkit:live`).
"""

from __future__ import annotations

import statistics
import time

from . import browser
from .run import KINDS, USERS, Bench
from .stats import Results, Row, summary

SAMPLES = 3
STREAM_RATE = 10.0  # events a second while stock pages load: they need one to be live
TARGET_MS = 900
# name: (latency ms, download bytes/s, upload bytes/s)
PROFILES = {
	"150 ms, 1.6 Mbit/s": (150, 1_600_000 / 8, 750_000 / 8),
	"300 ms, 400 kbit/s": (300, 400_000 / 8, 400_000 / 8),
}
# When the page went live by its own clock: Playwright notices a selector by polling, up to
# 500 ms late, which is not time the phone's user waits.
LIVE_AT = "performance.timeOrigin + performance.getEntriesByName('webviewkit:live')[0].startTime"
PHASES = """() => {
	const nav = performance.getEntriesByType("navigation")[0];
	const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
	const assets = performance.getEntriesByType("resource")
		.filter((r) => r.initiatorType === "script" || r.initiatorType === "link")
		.reduce((end, r) => Math.max(end, r.responseEnd), nav.responseEnd);
	const connected = mark("webviewkit:connected"), live = mark("webviewkit:live");
	return {
		redirect: nav.redirectEnd - nav.redirectStart,
		document: nav.responseEnd - (nav.redirectEnd || nav.startTime),
		assets: assets - nav.responseEnd,
		socket: connected === null ? null : connected - assets,
		catch_up: live === null || connected === null ? null : live - connected,
	};
}"""


class Traffic:
	"""Requests and bytes one page's network carried until a moment, off the DevTools protocol.

	Bounded by time, so what a page does once live (a webview caching its inlined bundle)
	does not count towards reaching live.
	"""

	def __init__(self, cdp):
		self.requests: list[float] = []  # wall-clock ms each began
		self.bytes: list[tuple[float, int]] = []  # (wall-clock ms, bytes)
		self.to_wall = None  # CDP's monotonic seconds to wall-clock ms
		cdp.on("Network.requestWillBeSent", self._request)
		cdp.on("Network.webSocketWillSendHandshakeRequest", self._request)
		cdp.on("Network.loadingFinished", lambda e: self._add(e, e.get("encodedDataLength", 0)))
		cdp.on("Network.webSocketFrameReceived", lambda e: self._add(e, len(e["response"]["payloadData"])))
		cdp.on("Network.webSocketFrameSent", lambda e: self._add(e, len(e["response"]["payloadData"])))

	def _request(self, event) -> None:
		if self.to_wall is None:
			offset = event["wallTime"] - event["timestamp"]
			self.to_wall = lambda timestamp: (timestamp + offset) * 1000
		self.requests.append(self.to_wall(event["timestamp"]))

	def _add(self, event, size: int) -> None:
		self.bytes.append((self.to_wall(event["timestamp"]), size))

	def until(self, wall_ms: float) -> dict:
		return {
			"requests": sum(1 for at in self.requests if at <= wall_ms),
			"kb": sum(size for at, size in self.bytes if at <= wall_ms) / 1024,
		}


def _sample(bench: Bench, kind: str, profile: tuple[int, float, float]) -> dict:
	latency, down, up = profile
	context = bench.new_context(kind)
	try:
		page = context.new_page()
		cdp = context.new_cdp_session(page)
		cdp.send("Network.enable")
		conditions = {
			"offline": False,
			"latency": latency,
			"downloadThroughput": down,
			"uploadThroughput": up,
		}
		cdp.send("Network.emulateNetworkConditions", conditions)
		traffic = Traffic(cdp)
		target = bench.target(kind)
		began = time.time() * 1000
		page.goto(target, wait_until="commit")
		if kind == "webview_kit":
			page.wait_for_selector("body[data-realtime=live]", timeout=60_000)
			reached = page.evaluate(LIVE_AT)
		else:
			deadline = time.monotonic() + 60
			while not (records := browser.records(page)):
				assert time.monotonic() < deadline, "the stock page saw no event within 60 s"
				time.sleep(0.01)
			reached = records[0][2]
		elapsed = reached - browser.clock_offset(page)["offset_ms"] - began
		sample = {"ms": elapsed, **traffic.until(reached)}
		if kind == "webview_kit":
			sample["phases_ms"] = page.evaluate(PHASES)
		return sample
	finally:
		context.close()


def run(bench: Bench, results: Results) -> None:
	details: dict = {}
	section = "9 tap to live on a phone's network (cold context)"
	stream = bench.streamer.start(
		"stream", kind="stock", user=USERS["stock"], interval=1 / STREAM_RATE, start=bench.counts(100_000)
	)
	try:
		for name, profile in PROFILES.items():
			details[name] = {kind: [_sample(bench, kind, profile) for _ in range(SAMPLES)] for kind in KINDS}
	finally:
		bench.streamer.stop_stream(stream)
	for name, by_kind in details.items():
		wvk, stock = by_kind["webview_kit"], by_kind["stock"]
		median = lambda samples, key: statistics.median(s[key] for s in samples)  # noqa: E731
		wvk_ms = median(wvk, "ms")
		phases = {
			phase: statistics.median(s["phases_ms"][phase] for s in wvk if s["phases_ms"][phase] is not None)
			for phase in wvk[0]["phases_ms"]
		}
		by_kind["summary"] = {
			"webview_kit_ms": summary([s["ms"] for s in wvk]),
			"stock_ms": summary([s["ms"] for s in stock]),
			"webview_kit_phases_ms": phases,
		}
		first = name == next(iter(PROFILES))
		results.add(
			Row(
				section,
				f"to live, median ({name})",
				"ms",
				wvk_ms,
				median(stock, "ms"),
				target=f"≤ {TARGET_MS} ms" if first else "",
				met=wvk_ms <= TARGET_MS if first else None,
				note="webview: deep link to live; stock: signed in, to its first event",
			),
			Row(
				section, f"requests ({name})", "requests", median(wvk, "requests"), median(stock, "requests")
			),
			Row(section, f"bytes ({name})", "KB", median(wvk, "kb"), median(stock, "kb")),
		)
	results.details["phone_network"] = details
