"""(2) Fan-out to many authenticated sockets, (7) memory with them, and a socket-server restart.

For each size, each kind gets its own user and room: a few Chromium pages (webview
pages opened by deep links; stock live pages signed in) plus Node socket.io clients
for the rest, all through the front with real session cookies (the Node clients share
`sizes.sessions` sessions; each socket's connect is still authenticated by Frappe's
`get_user_info`). Then a series of events goes to the room; every socket notes when
each arrived. Lost = (socket, event) pairs that never arrived.

At the largest size up to `sizes.restart_sockets` (1,000) the socket server is killed
and restarted while events keep coming (the issue's "1,000 webviews reconnected and
caught up within 3 s"): webview clients fetch what they missed from
webview_kit.api.catch_up, as a webview page does; stock clients just reconnect. At
10,000 that reconnect storm did not settle within minutes on a 2-core machine (see
docs/benchmarks.md), so the larger sizes measure delivery, connect time and RSS only.

A size whose crowd falls over (sockets refused, the load generator gone) leaves its
column empty with a note, and the run goes on with the next.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from . import browser, memory
from .loadgen import LoadGen
from .run import EVENTS, KINDS, USERS, Bench
from .stats import Results, Row, summary

SOCKETIO = "socketio-0"
# A page after a socket-server restart: live again, still trying, or given up (stock
# pages stop after socketio_client.js's three reconnection attempts).
PAGE_STATE = {
	"webview_kit": "document.body.dataset.realtime === 'live' ? 'live' : 'trying'",
	"stock": """(() => {
		const socket = frappe.realtime.socket;
		return socket.connected ? "live" : socket.io._reconnecting ? "trying" : "gave_up";
	})()""",
}
DELIVERY_TIMEOUT = 20
CONNECT_SECONDS_PER_SOCKET = 0.025
RESTART_TIMEOUT = 45


def run(bench: Bench, results: Results) -> None:
	sizes = bench.sizes
	restart_at = restart_size(sizes.fanout, sizes.restart_sockets)
	details = {}
	memory_at = {"idle": memory.snapshot(bench.stack)}
	for size in sizes.fanout:
		for kind in KINDS:
			key = f"{kind}-{size}"
			crowd = None
			try:
				crowd = Crowd(bench, kind, size)
				details[key] = crowd.deliver()
				memory_at[key] = memory.snapshot(bench.stack)
				details[key]["rss_mb"] = memory_at[key]
				if size == restart_at:
					try:
						details[key]["restart"] = crowd.restart()
					except Exception:
						# The fan-out figures stand without it; the JSON says what went wrong.
						details[key]["restart"] = {"error": traceback.format_exc()}
			except Exception:
				# One size falling over (the front or the socket server out of connections,
				# say) must not cost the others: its rows say so and the JSON says why.
				details[key] = {"error": traceback.format_exc(), "sockets": size}
				print(f"   {kind}: {size} sockets FAILED: {_last_line(details[key]['error'])}", flush=True)
			finally:
				if crowd:
					crowd.close()
	results.details["fanout"] = details
	for size in sizes.fanout:
		_rows(results, size, details[f"webview_kit-{size}"], details[f"stock-{size}"])
	if restart_at is not None:
		_restart_rows(
			results, restart_at, details[f"webview_kit-{restart_at}"], details[f"stock-{restart_at}"]
		)
	# The memory table: the largest size with both kinds measured.
	measured = [size for size in sizes.fanout if all(f"{kind}-{size}" in memory_at for kind in KINDS)]
	if measured:
		largest = max(measured)
		results.memory = [
			{
				"process": name,
				"idle_mb": memory_at["idle"].get(name),
				"webview_kit_mb": memory_at[f"webview_kit-{largest}"].get(name),
				"stock_mb": memory_at[f"stock-{largest}"].get(name),
				"sockets": largest,
			}
			for name in memory_at["idle"]
		]


def restart_size(sizes: tuple[int, ...], most: int) -> int | None:
	"""The size the socket server is restarted at: the largest of the run's up to `most`."""
	fitting = [size for size in sizes if size <= most]
	return max(fitting) if fitting else None


def _last_line(error: str) -> str:
	return error.strip().splitlines()[-1]


class Crowd:
	"""`size` live sockets of one kind: a few browser pages, Node clients for the rest."""

	def __init__(self, bench: Bench, kind: str, size: int):
		self.bench, self.kind, self.size = bench, kind, size
		self.pages = []
		self.contexts = []
		self.loadgen = None
		page_count = min(bench.sizes.browser_pages, size)
		try:
			# Stock pages share one signed-in context; each webview page has its own deep link.
			shared = bench.new_context(kind) if kind == "stock" else None
			self.contexts += [shared] if shared else []
			for _ in range(page_count):
				context = shared or bench.new_context(kind)
				self.contexts += [] if shared else [context]
				self.pages.append(bench.open_live(kind, context))
			self.loadgen = LoadGen(
				url=bench.url,
				site=bench.site,
				sids=bench.sids(kind, min(bench.sizes.sessions, size)),
				count=size - page_count,
				mode=kind,
				event=EVENTS[kind],
				room=f"user:{USERS[kind]}",
				log=bench.logs / f"loadgen-{kind}-{size}.log",
				concurrency=20,
				# 10,000 sockets took 56 to 69 s on a busy 2-core machine: leave room.
				timeout=max(180, size * CONNECT_SECONDS_PER_SOCKET),
			)
		except BaseException:
			self.close()
			raise
		print(
			f"   {kind}: {size} sockets ({page_count} Chromium pages, {size - page_count} Node clients)"
			f" connected in {self.loadgen.connected['seconds']:.1f}s",
			flush=True,
		)

	def close(self) -> None:
		if self.loadgen:
			self.loadgen.close()
		for context in self.contexts:
			context.close()

	def _clear(self) -> None:
		self.loadgen.command("reset")
		for page in self.pages:
			page.evaluate("window.__bench.length = 0")

	def _collect(self, expected: list[int], deadline: float) -> tuple[dict, list]:
		"""Node clients' report and the pages' records, once all have everything or time is up."""
		while True:
			report = self.loadgen.command("report", expected=expected, timeout=120)
			pages = [browser.records(page) for page in self.pages]
			complete = report["complete_sockets"] == self.loadgen.connected["ok"] and all(
				set(expected) <= {r[0] for r in got} for got in pages
			)
			if complete or time.monotonic() > deadline:
				return report, pages
			time.sleep(0.25)

	def deliver(self) -> dict:
		count, interval = self.bench.sizes.events_for(self.size)
		time.sleep(0.5)  # let the last connects settle
		self._clear()
		offsets = {
			"node": self.loadgen.clock_offset(),
			"pages": [browser.clock_offset(p) for p in self.pages],
		}
		sent = self.bench.agent.call(
			"series",
			kind=self.kind,
			user=USERS[self.kind],
			count=count,
			interval=interval,
			start=self.bench.counts(count),
		)
		expected = [c for c, *_ in sent]
		report, pages = self._collect(expected, time.monotonic() + DELIVERY_TIMEOUT)
		page_latencies = [applied - t for got in pages for c, t, applied in got if c in set(expected)]
		page_lost = sum(len(set(expected) - {r[0] for r in got}) for got in pages)
		return {
			"sockets": self.size,
			"node_clients": self.loadgen.connected["ok"],
			"node_connect_failed": self.loadgen.connected["failed"],
			"node_connect_retried": self.loadgen.connected.get("retried", 0),
			"connect_seconds": self.loadgen.connected["seconds"],
			"browser_pages": len(self.pages),
			"events": count,
			"interval_s": interval,
			"node": {
				**summary(report["latencies"]),
				"lost": report["lost"],
				"duplicates": report["duplicates"],
			},
			"pages": {**summary(page_latencies), "lost": page_lost},
			"clock_offsets_ms": offsets,
		}

	@contextmanager
	def streaming(self) -> Iterator[list[int]]:
		"""Counts published to this crowd while the block runs; the list holds them once it ends."""
		bench = self.bench
		self._clear()
		stream = bench.streamer.start(
			"stream",
			kind=self.kind,
			user=USERS[self.kind],
			interval=1 / bench.sizes.restart_rate,
			start=bench.counts(100_000),
		)
		sent: list[int] = []
		try:
			yield sent
		finally:
			sent.extend(count for count, _t, _seq in bench.streamer.stop_stream(stream))

	def restart(self) -> dict:
		"""Kill and restart the socket server while events keep coming; time the recovery."""
		bench, sizes = self.bench, self.bench.sizes
		with self.streaming() as expected:
			time.sleep(0.5)
			killed = time.time() * 1000
			bench.stack.kill(SOCKETIO)
			try:
				time.sleep(sizes.restart_outage)
				restarting = time.time() * 1000
			finally:
				bench.stack.restart(SOCKETIO)  # whatever happens, the stack is whole again
			ready = time.time() * 1000
			deadline = time.monotonic() + RESTART_TIMEOUT
			status = self._nodes_back(restarting, deadline)
			times = self.loadgen.command("status", since=restarting, times=True)
			pages = self._pages_back(deadline)
			time.sleep(0.5)
		report, records = self._collect(expected, time.monotonic() + DELIVERY_TIMEOUT)
		everyone = status["caught_up"] == self.loadgen.connected["ok"]
		recovered = summary([t - ready for t in times["caught_up_at"]])
		print(
			f"   {self.kind}: {status['caught_up']} of {self.loadgen.connected['ok']} back"
			+ (" and caught up" if self.kind == "webview_kit" else "")
			+ " after the server listened: "
			+ ", ".join(
				f"{q} {recovered[q] / 1000:.1f}s" for q in ("p50", "p95", "max") if recovered[q] is not None
			),
			flush=True,
		)
		return {
			"outage_s": sizes.restart_outage,
			"ready_after_restart_ms": ready - restarting,
			"all_recovered_after_ready_ms": status["last_caught_up"] - ready if everyone else None,
			"all_recovered_after_kill_ms": status["last_caught_up"] - killed if everyone else None,
			"node": status,
			# Each client's own recovery, from when the server listened again: its socket back,
			# and (webview) caught up; stock clients are caught up when back, as they fetch nothing.
			"back_after_ready_ms": summary([t - ready for t in times["back_at"]]),
			"caught_up_after_ready_ms": recovered,
			"catch_up_ms": summary(times["catch_up_ms"]),
			"pages": {**pages, "last_live_after_ready_ms": pages["last_live"] and pages["last_live"] - ready},
			"events": len(expected),
			"node_lost": report["lost"],
			"node_duplicates": report["duplicates"],
			"pages_lost": sum(len(set(expected) - {r[0] for r in got}) for got in records),
		}

	def _nodes_back(self, since: float, deadline: float) -> dict:
		"""Node clients' status once none is still trying and every connected one caught up."""
		shown = time.monotonic()
		while True:
			status = self.loadgen.command("status", since=since)
			# Every socket that dropped is back and caught up; one that never dropped is not waited for.
			settled = status["trying"] == 0 and status["behind"] == 0
			if settled or time.monotonic() > deadline:
				status["timed_out"] = not settled
				return status
			if time.monotonic() - shown > 5:
				shown = time.monotonic()
				print(
					f"   {self.kind}: {status['connected']} reconnected, {status['caught_up']} caught up, "
					f"{status['syncing']} catching up, {status['trying']} trying"
					+ (f", {status['ended']} ended (refused)" if status.get("ended") else "")
					+ (
						f" (connect errors: {', '.join(status['connect_error_kinds'])})"
						if status["trying"]
						else ""
					),
					flush=True,
				)
			time.sleep(0.1)

	def _pages_back(self, deadline: float) -> dict:
		"""The pages' states once none is still trying, and when the last one was live."""
		while True:
			states = [page.evaluate(PAGE_STATE[self.kind]) for page in self.pages]
			if "trying" not in states or time.monotonic() > deadline:
				all_live = set(states) == {"live"}
				return {"states": states, "last_live": time.time() * 1000 if all_live else None}
			time.sleep(0.1)


def _rows(results: Results, size: int, wvk: dict, stock: dict) -> None:
	"""One size's rows; a column whose crowd fell over has no figures, and a note says so."""
	section = f"2 fan-out to {size:,} sockets"
	failed = [kind for kind, d in zip(KINDS, (wvk, stock), strict=True) if "error" in d]
	note = f"{' and '.join(failed)} fell over: see the JSON" if failed else ""

	def get(d: dict, value):
		return None if "error" in d else value(d)

	def both(value) -> tuple:
		return get(wvk, value), get(stock, value)

	def at_most(w, s) -> bool | None:
		return None if None in (w, s) else w <= s

	big = size >= 1000
	p50, p99 = both(lambda d: d["node"]["p50"]), both(lambda d: d["node"]["p99"])
	lost = both(lambda d: d["node"]["lost"] + d["pages"]["lost"])
	results.add(
		Row(
			section,
			"delivery p50 (Node clients)",
			"ms",
			*p50,
			target="≤ stock" if big else "",
			met=at_most(*p50) if big else None,
			note=note,
		),
		Row(
			section,
			"delivery p99 (Node clients)",
			"ms",
			*p99,
			target="≤ stock" if big else "",
			met=at_most(*p99) if big else None,
		),
		Row(
			section,
			f"delivery p99 ({results_pages(wvk, stock)} Chromium pages)",
			"ms",
			*both(lambda d: d["pages"]["p99"]),
		),
		Row(
			section,
			"events lost (all sockets)",
			"events",
			*lost,
			target="0",
			met=None if lost[0] is None else lost[0] == 0,
		),
		Row(section, "connect the Node clients", "s", *both(lambda d: d["connect_seconds"])),
		Row(section, "socket server RSS", "MB", *both(lambda d: _socket_server_mb(d["rss_mb"]))),
	)
	refused = both(lambda d: d["node_connect_failed"])
	if any(refused):
		results.add(
			Row(section, "Node clients that never connected", "sockets", *refused, note="lost counts them")
		)
	retried = both(lambda d: d.get("node_connect_retried", 0))
	if any(retried):
		results.add(
			Row(
				section,
				"Node clients refused at first, connected on a retry",
				"sockets",
				*retried,
				note="as a webview page retries; a stock page does not",
			)
		)


def results_pages(wvk: dict, stock: dict) -> int:
	"""How many Chromium pages each column had (the same for both)."""
	return next((d["browser_pages"] for d in (wvk, stock) if "browser_pages" in d), 0)


def _socket_server_mb(rss: dict[str, float]) -> float:
	return sum(mb for name, mb in rss.items() if name.startswith("socketio-"))


def _restart_rows(results: Results, size: int, wvk: dict, stock: dict) -> None:
	# A crowd that fell over before its restart has the crowd's error instead.
	w, s = (d.get("restart") or {"error": d.get("error", "not measured")} for d in (wvk, stock))
	section = f"2 socket-server restart, {size:,} sockets"

	def get(restart: dict, value) -> float | None:
		return None if "error" in restart else value(restart)

	def back(restart: dict) -> float | None:
		ms = restart["all_recovered_after_ready_ms"]
		return None if ms is None else ms / 1000

	def lost(restart: dict) -> int:
		return restart["node_lost"] + restart["pages_lost"]

	def quantile(q: str):
		def seconds(restart: dict) -> float | None:
			ms = restart.get("caught_up_after_ready_ms", {}).get(q)
			return None if ms is None else ms / 1000

		return seconds

	recovered_w, recovered_s, lost_w = get(w, back), get(s, back), get(w, lost)
	results.add(
		*(
			Row(
				section,
				f"Node clients back after the server listens, {q}",
				"s",
				get(w, quantile(q)),
				get(s, quantile(q)),
				note="webview: and caught up",
			)
			for q in ("p50", "p95")
		),
		Row(
			section,
			"all Node clients back after the server listens",
			"s",
			recovered_w,
			recovered_s,
			target="≤ stock",
			met=None if None in (recovered_w, recovered_s) else recovered_w <= recovered_s,
			note="webview: and caught up",
		),
		Row(
			section,
			f"Node clients back within {RESTART_TIMEOUT} s",
			"sockets",
			get(w, lambda r: r["node"]["caught_up"]),
			get(s, lambda r: r["node"]["caught_up"]),
			lower_is_better=False,
			note="stock pages give up after 3 attempts",
		),
		Row(
			section,
			"events lost across the restart",
			"events",
			lost_w,
			get(s, lost),
			target="0",
			met=None if lost_w is None else lost_w == 0,
		),
	)
