"""Percentiles and the rows of the side-by-side table."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

__all__ = ["Results", "Row", "best_offset", "percentile", "summary"]


def percentile(values: list[float], q: float) -> float | None:
	"""The `q` quantile (0..1) of `values`, interpolated between the nearest ranks."""
	ordered = sorted(values)
	if not ordered:
		return None
	rank = q * (len(ordered) - 1)
	low = int(rank)
	high = min(low + 1, len(ordered) - 1)
	return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> dict:
	"""p50, p95, p99, max and the sample count of `values`."""
	return {
		"p50": percentile(values, 0.5),
		"p95": percentile(values, 0.95),
		"p99": percentile(values, 0.99),
		"max": max(values) if values else None,
		"n": len(values),
	}


def best_offset(read_theirs, tries: int = 7) -> dict:
	"""Their clock minus ours, NTP-style: the sample with the shortest round trip wins."""
	samples = []
	for _ in range(tries):
		before = time.time() * 1000
		theirs = read_theirs()
		after = time.time() * 1000
		samples.append((after - before, theirs - (before + after) / 2))
	rtt, offset = min(samples)
	return {"offset_ms": offset, "rtt_ms": rtt}


@dataclass
class Row:
	"""One measure, webview_kit against stock Frappe.

	`ratio` is webview_kit / stock; `lower_is_better` says which way is good, so the
	chart can draw every row as "times better". `target` is the issue's target in
	words and `met` whether this run met it (reported, never asserted).
	"""

	section: str
	measure: str
	unit: str
	webview_kit: float | None
	stock: float | None
	lower_is_better: bool = True
	target: str = ""
	met: bool | None = None
	note: str = ""

	@property
	def ratio(self) -> float | None:
		if self.webview_kit is None or self.stock is None or self.stock == 0:
			return None
		return self.webview_kit / self.stock

	@property
	def advantage(self) -> float | None:
		"""How many times better webview_kit is (above 1) or worse (below 1)."""
		if self.webview_kit is None or self.stock is None or 0 in (self.webview_kit, self.stock):
			return None
		return self.stock / self.webview_kit if self.lower_is_better else self.webview_kit / self.stock

	def as_dict(self) -> dict:
		return {**asdict(self), "ratio": self.ratio, "advantage": self.advantage}


@dataclass
class Results:
	"""Everything a run measured: table rows, per-process memory and the raw details."""

	rows: list[Row] = field(default_factory=list)
	memory: list[dict] = field(default_factory=list)
	details: dict = field(default_factory=dict)
	skipped: dict = field(default_factory=dict)

	def add(self, *rows: Row) -> None:
		self.rows.extend(rows)
