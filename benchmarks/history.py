"""(12) History in the queue Redis: 10,000 rooms under the site's history budget.

The run sets *History kept in all* to `BUDGET_MB` and publishes `EVENTS` rounds of one
1 KB event to each of 10,000 document rooms (1,000 with `--quick`), 500 events per
Lua call, so every round touches every room and, once the budget is full, each call
expires the rooms published to longest ago. It reads the queue Redis's `used_memory`
before, after each round (the peak) and at the end, against the budget; without it, the
same run would keep every event it published. Stock Frappe keeps no history, so that
column is empty. Numbers only: nothing here is asserted.
"""

from __future__ import annotations

from .run import Bench
from .stats import Results, Row

BUDGET_MB = 32
EVENTS = 20
EVENT_BYTES = 1024


def run(bench: Bench, results: Results) -> None:
	rooms = bench.sizes.history_rooms
	got = bench.agent.call("history_soak", rooms=rooms, events=EVENTS, size=EVENT_BYTES, budget_mb=BUDGET_MB)
	results.details["history"] = got
	growth = got["used_peak_mb"] - got["used_before_mb"]
	print(
		f"   {got['events']:,} events to {rooms:,} rooms ({got['published_mb']:.0f} MB of data) in"
		f" {got['seconds']:.1f}s: queue Redis used {got['used_before_mb']:.1f} MB before, at most"
		f" {got['used_peak_mb']:.1f} MB, {got['used_after_mb']:.1f} MB after; history counted at"
		f" {got['counted_mb']:.1f} MB of a {BUDGET_MB} MB budget; {got['rooms_with_history']:,} rooms kept"
		f" history, {got['rooms_evicted']:,} expired early",
		flush=True,
	)
	section = f"12 history of {rooms:,} rooms in the queue Redis ({BUDGET_MB} MB budget)"
	results.add(
		Row(
			section,
			"queue Redis growth at its peak",
			"MB",
			growth,
			None,
			target=f"≤ {BUDGET_MB} MB",
			met=growth <= BUDGET_MB,
		),
		Row(section, "history counted", "MB", got["counted_mb"], None),
		Row(section, "published (kept without a budget)", "MB", got["published_mb"], None),
	)
