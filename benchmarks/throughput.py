"""(5) Publish throughput of one Python process, one at a time and batched.

webview_kit: `publish()` (sequence number, history and delivery in one Lua call) and
`publish_many()` with 100 events per call. Stock: `frappe.publish_realtime()`, one
Redis PUBLISH per call; Frappe has no batch call, so the batched row compares against
that same figure. Events go to the room of a user with no sockets. One at a time, the two
columns take turns in three short rounds and each reports its median round.
"""

from __future__ import annotations

import statistics

from .run import USERS, Bench
from .stats import Results, Row

BATCH = 100
WARMUP_SECONDS = 0.3
ROUNDS = 3


def run(bench: Bench, results: Results) -> None:
	seconds = bench.sizes.throughput_seconds
	user = USERS["throughput"]

	def rate(kind: str, batch: int = 1, seconds: float = seconds) -> dict:
		bench.agent.call("throughput", kind=kind, user=user, seconds=WARMUP_SECONDS, batch=batch)
		return bench.agent.call("throughput", kind=kind, user=user, seconds=seconds, batch=batch)

	# One at a time, the columns take turns in short rounds (alternating which goes first),
	# so a machine still settling after the measures before this one weighs on both alike.
	rounds = []
	for n in range(ROUNDS):
		kinds = ("webview_kit", "stock") if n % 2 == 0 else ("stock", "webview_kit")
		rounds.append({kind: rate(kind, seconds=seconds / ROUNDS) for kind in kinds})
	single, stock = (_median_round(rounds, kind) for kind in ("webview_kit", "stock"))
	batched = rate("webview_kit", BATCH)
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


def _median_round(rounds: list[dict], kind: str) -> dict:
	rates = [r[kind]["per_second"] for r in rounds]
	return {"per_second": statistics.median(rates), "rounds": rates}
