"""(11) Rolling deploys on a swarm: every socket server and every web server replaced under load.

`make benchmark STACK=swarm` (the swarm stack up: `make up STACK=swarm`). For each kind,
`sizes.roll_sockets` sockets (a few Chromium pages, Node clients for the rest) follow a
stream of events published throughout; meanwhile:

- `docker service update --force websocket`, one replica at a time, once `start-first`
  (the new task healthy before the old one stops) and once `stop-first`;
- `docker service update --force backend`, start-first, health-checked, while a prober sends
  HTTP requests through the front (a page's API call, `/api/method/ping`) back to back.

Reported per roll: events lost (target 0 for webview_kit: its pages catch up from history),
duplicates, how long each socket took from dropping to caught up (p50/p95/max; stock sockets
fetch nothing, so theirs is the time to be back), and failed HTTP requests (target 0).
"""

from __future__ import annotations

import threading
import time
import traceback

import requests

from .fanout import Crowd
from .run import KINDS, Bench
from .stats import Results, Row, summary

ROLL_TIMEOUT = 120
# (service, update order) in the order they run; the web roll carries the HTTP prober.
ROLLS = (("websocket", "start-first"), ("websocket", "stop-first"), ("backend", "start-first"))


class Prober:
	"""HTTP requests through the front, one after another, counting those that failed."""

	def __init__(self, url: str):
		self.url = url
		self.sent = 0
		self.failed: list[str] = []
		self._stop = threading.Event()
		self._thread = threading.Thread(target=self._run, daemon=True)
		self._thread.start()

	def _run(self) -> None:
		session = requests.Session()
		while not self._stop.is_set():
			self.sent += 1
			try:
				response = session.get(f"{self.url}/api/method/ping", timeout=10)
				if response.status_code != 200:
					self.failed.append(f"{response.status_code}")
			except requests.RequestException as error:
				self.failed.append(type(error).__name__)
			self._stop.wait(0.02)  # about 40 requests a second: a pace, not a wait for anything

	def stop(self) -> dict:
		self._stop.set()
		self._thread.join(15)
		return {"sent": self.sent, "failed": len(self.failed), "failures": sorted(set(self.failed))[:5]}


def run(bench: Bench, results: Results) -> None:
	if not hasattr(bench.stack, "roll"):
		results.skipped["roll"] = "rolling deploys need the swarm stack: make benchmark STACK=swarm"
		return
	size = bench.sizes.roll_sockets
	details = {}
	for kind in KINDS:
		crowd = None
		try:
			crowd = Crowd(bench, kind, size)
			for service, order in ROLLS:
				key = f"{kind}-{service}-{order}"
				print(f"   {kind}: rolling {service} ({order}) with {size} sockets", flush=True)
				details[key] = roll(bench, crowd, service, order)
		except Exception:
			details[f"{kind}-error"] = traceback.format_exc()
			print(f"   {kind}: the roll failed:\n{details[f'{kind}-error']}", flush=True)
		finally:
			if crowd:
				crowd.close()
	results.details["roll"] = {"sockets": size, **details}
	_rows(results, size, details)


def roll(bench: Bench, crowd: Crowd, service: str, order: str) -> dict:
	"""Roll `service` while events stream to the crowd; what the crowd lost and how long it took."""
	with crowd.streaming() as expected:
		prober = Prober(bench.url)
		try:
			time.sleep(0.5)  # some events before the roll
			began = time.time() * 1000
			bench.stack.roll(service, order)
			rolled = time.time() * 1000
			deadline = time.monotonic() + ROLL_TIMEOUT
			status = crowd._nodes_back(began, deadline)
			times = crowd.loadgen.command("status", since=began, times=True)
			pages = crowd._pages_back(deadline)
			time.sleep(0.5)  # some events after it
		finally:
			http = prober.stop()
	report, records = crowd._collect(expected, time.monotonic() + 30)
	outages = summary(times.get("outage_ms", []))
	result = {
		"roll_s": (rolled - began) / 1000,
		"events": len(expected),
		"node_lost": report["lost"],
		"node_duplicates": report["duplicates"],
		"pages_lost": sum(len(set(expected) - {r[0] for r in got}) for got in records),
		"dropped": status.get("dropped", 0),
		"reconnected_not_caught_up": status["connected"] - status["caught_up"] if status["dropped"] else 0,
		"gave_up": status["gave_up"],
		"timed_out": status["timed_out"],
		"outage_ms": outages,
		"pages": pages["states"],
		"http": http,
	}
	print(
		f"   {crowd.kind} {service} {order}: {result['roll_s']:.0f}s roll, {result['dropped']} sockets dropped, "
		f"lost {result['node_lost']} (pages {result['pages_lost']}), drop to caught up "
		+ ", ".join(f"{q} {outages[q] / 1000:.2f}s" for q in ("p50", "p95", "max") if outages[q] is not None)
		+ f"; HTTP {http['failed']} of {http['sent']} failed",
		flush=True,
	)
	return result


def _rows(results: Results, size: int, details: dict) -> None:
	section = f"11 rolling deploy on a swarm, {size:,} sockets"
	for service, order in ROLLS:
		w, s = (details.get(f"{kind}-{service}-{order}") for kind in KINDS)

		def value(d, get):
			return None if d is None else get(d)

		def seconds(d, q):
			ms = d["outage_ms"][q]
			return None if ms is None else ms / 1000

		name = f"{service} roll ({order})"
		lost = value(w, lambda d: d["node_lost"] + d["pages_lost"])
		failed = value(w, lambda d: d["http"]["failed"])
		results.add(
			Row(
				section,
				f"{name}: events lost",
				"",
				lost,
				value(s, lambda d: d["node_lost"] + d["pages_lost"]),
				target="0",
				met=None if lost is None else lost == 0,
			),
			*(
				Row(
					section,
					f"{name}: socket drop to caught up, {q}",
					"s",
					value(w, lambda d, q=q: seconds(d, q)),
					value(s, lambda d, q=q: seconds(d, q)),
					note="stock: to back (it fetches nothing)",
				)
				for q in ("p50", "p95", "max")
			),
			Row(
				section,
				f"{name}: failed HTTP requests",
				"",
				failed,
				value(s, lambda d: d["http"]["failed"]),
				target="0" if service == "backend" else "",
				met=None if failed is None or service != "backend" else failed == 0,
			),
		)
