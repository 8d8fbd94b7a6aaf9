"""(5) Publish throughput of one Python process, one at a time and batched.

webview_kit: `publish()` (sequence number, history and delivery in one Lua call) and
`publish_many()` with 100 events per call. Stock: `frappe.publish_realtime()`, one
Redis PUBLISH per call; Frappe has no batch call, so the batched row compares against
that same figure. Events go to the room of a user with no sockets.
"""

from __future__ import annotations

from .run import USERS, Bench
from .stats import Results, Row

BATCH = 100
WARMUP_SECONDS = 0.3


def run(bench: Bench, results: Results) -> None:
	seconds = bench.sizes.throughput_seconds
	user = USERS["throughput"]

	def rate(kind: str, batch: int = 1) -> dict:
		bench.agent.call("throughput", kind=kind, user=user, seconds=WARMUP_SECONDS, batch=batch)
		return bench.agent.call("throughput", kind=kind, user=user, seconds=seconds, batch=batch)

	single = rate("webview_kit")
	batched = rate("webview_kit", BATCH)
	stock = rate("stock")
	results.details["throughput"] = {"single": single, "batched": batched, "stock": stock, "batch": BATCH}
	section = "5 publish throughput, one Python process (events/s)"
	results.add(
		Row(
			section,
			"one at a time",
			"events/s",
			single["per_second"],
			stock["per_second"],
			lower_is_better=False,
		),
		Row(
			section,
			f"batched (publish_many ×{BATCH})",
			"events/s",
			batched["per_second"],
			stock["per_second"],
			lower_is_better=False,
			target="≥ 20,000/s",
			met=batched["per_second"] >= 20_000,
			note="stock has no batch call: its one-at-a-time rate",
		),
	)
