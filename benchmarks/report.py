"""The printed table (Markdown, so the README can quote it as is), the JSON and the PNG chart."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

from .stats import Results, Row

REPO = Path(__file__).resolve().parent.parent


def loadavg() -> list[float]:
	return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def machine() -> dict:
	"""What the numbers were measured on, including how busy it was when the run began."""
	cpu = next(
		(
			line.split(":", 1)[1].strip()
			for line in Path("/proc/cpuinfo").read_text().splitlines()
			if line.startswith("model name")
		),
		platform.processor(),
	)
	memory_kb = int(Path("/proc/meminfo").read_text().split()[1])

	def git(*args) -> str:
		done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
		return done.stdout.strip()

	return {
		"cpu": cpu,
		"cores": os.cpu_count(),
		"memory_gb": round(memory_kb / 1024 / 1024, 1),
		"kernel": platform.release(),
		"python": platform.python_version(),
		"node": (subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()),
		"chromium": _chromium_version(),
		"commit": git("rev-parse", "--short", "HEAD") + ("-dirty" if git("status", "--porcelain") else ""),
		"load_before": loadavg(),
	}


def _chromium_version() -> str:
	from .browser import CHROMIUM

	if not shutil.which(CHROMIUM):
		return "?"
	return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()


def _fmt(value: float | None, unit: str) -> str:
	if value is None:
		return "–"
	if unit in ("events", "events/s", "tokens/s", "sockets") or abs(value) >= 1000:
		return f"{value:,.0f}"
	if abs(value) >= 100:
		return f"{value:.0f}"
	if abs(value) >= 10:
		return f"{value:.1f}"
	return f"{value:.2f}"


def _ratio(row: Row) -> str:
	if row.ratio is None:
		return "–"
	return f"{row.ratio:.2f}×"


def _target(row: Row) -> str:
	if not row.target:
		return ""
	mark = {True: "met", False: "missed", None: "?"}[row.met]
	return f"{row.target}: {mark}"


def _ordered(rows: list[Row]) -> list[Row]:
	"""Rows in the issue's order (sections start with their number), whatever order ran."""
	return sorted(rows, key=lambda row: int(row.section.split()[0]))


def _short(section: str) -> str:
	"""`4 page weight (KB)` -> `page weight`."""
	return section.split(" ", 1)[1].split(",")[0].split(" (")[0]


def table(results: Results, machine: dict, run: dict) -> str:
	"""The side-by-side table, then memory, then what could not be measured."""
	lines = [
		f"webview_kit vs stock Frappe {results.details.get('stack', {}).get('frappe', '?')}, "
		f"{run['sizes']} run, {run['seconds']:.0f} s; {machine['cores']} × {machine['cpu']}, "
		f"{machine['memory_gb']} GB; load average {machine['load_before'][0]:.2f} before, "
		f"{machine.get('load_after', [0])[0]:.2f} after; commit {machine['commit']}",
		*(
			[
				f"Warning: the machine was busy (load {machine['load_before'][0]:.1f} on {machine['cores']} "
				"cores when the run began): these numbers are noisy; run again on a quiet machine."
			]
			if machine["load_before"][0] > machine["cores"] / 2
			else []
		),
		"",
		"| measure | unit | webview_kit | stock Frappe | ratio (wvk/stock) | target |",
		"| --- | --- | ---: | ---: | ---: | --- |",
	]
	section = None
	for row in _ordered(results.rows):
		if row.section != section:
			section = row.section
			lines.append(f"| **{section}** | | | | | |")
		name = row.measure + (f" ({row.note})" if row.note else "")
		lines.append(
			f"| {name} | {row.unit} | {_fmt(row.webview_kit, row.unit)} | {_fmt(row.stock, row.unit)} "
			f"| {_ratio(row)} | {_target(row)} |"
		)
	if results.memory:
		sockets = results.memory[0]["sockets"]
		lines += [
			"",
			f"RSS per stack process (MB; the same processes serve both; with {sockets:,} sockets of each kind)",
			"",
			f"| process | idle | {sockets:,} webview_kit sockets | {sockets:,} stock sockets | ratio |",
			"| --- | ---: | ---: | ---: | ---: |",
		]
		for entry in results.memory:
			w, s = entry["webview_kit_mb"], entry["stock_mb"]
			ratio = f"{w / s:.2f}×" if w and s else "–"
			lines.append(
				f"| {entry['process']} | {_fmt(entry['idle_mb'], 'MB')} | {_fmt(w, 'MB')} | {_fmt(s, 'MB')} | {ratio} |"
			)
	if results.skipped:
		lines += ["", "Not measured in this run:"]
		for name, why in results.skipped.items():
			lines.append(f"- {name}: {why.strip().splitlines()[-1]}")
	return "\n".join(lines)


def write(
	results: Results, machine: dict, run: dict, out: Path, stamp: str, latest: Path | None
) -> list[Path]:
	"""results/<stamp>.{json,png}, and latest.{json,png} in `latest` (the README's copies)."""
	out.mkdir(parents=True, exist_ok=True)
	document = {
		"run": run,
		"machine": machine,
		"rows": [row.as_dict() for row in results.rows],
		"memory": results.memory,
		"skipped": results.skipped,
		"details": results.details,
		"table": table(results, machine, run),
	}
	paths = [out / f"{stamp}.json", out / f"{stamp}.png"]
	paths[0].write_text(json.dumps(document, indent=1))
	chart(results, machine, run, paths[1])
	if latest:
		copies = [latest / f"latest{path.suffix}" for path in paths]
		for path, copy in zip(paths, copies, strict=True):
			shutil.copyfile(path, copy)
		paths += copies
	return paths


def chart(results: Results, machine: dict, run: dict, path: Path) -> None:
	"""One bar per comparable row: how many times better (right) or worse (left) than stock."""
	import matplotlib

	matplotlib.use("Agg")
	import matplotlib.pyplot as plt

	rows = [row for row in _ordered(results.rows) if row.advantage is not None]
	height = 1.4 + 0.3 * len(rows)
	figure, axes = plt.subplots(figsize=(11, height), dpi=110)
	labels = [f"{_short(row.section)}: {row.measure}" for row in rows]
	values = [row.advantage for row in rows]
	colours = ["#2563eb" if value >= 1 else "#b91c1c" for value in values]
	positions = list(range(len(rows)))[::-1]
	# Bars grow from 1 (as good as stock): right is better, left is worse.
	axes.barh(positions, [value - 1 for value in values], left=1, color=colours, height=0.6)
	axes.set_xscale("log")
	axes.axvline(1, color="#17171a", linewidth=1)
	axes.set_yticks(positions, labels, fontsize=8)
	for y, row, value in zip(positions, rows, values, strict=True):
		text = f"{_fmt(row.webview_kit, row.unit)} vs {_fmt(row.stock, row.unit)} {row.unit}"
		axes.text(max(value, 1) * 1.15, y, text, va="center", ha="left", fontsize=7)
	low, high = min([*values, 1]), max([*values, 1])
	axes.set_xlim(low / 2, high * 25)
	axes.set_xlabel("times better than stock Frappe (log scale; left of 1 = worse)")
	axes.set_title(
		f"webview_kit vs stock Frappe, same run ({run['sizes']}; {machine['cores']} cores, "
		f"load {machine['load_before'][0]:.1f})",
		fontsize=10,
	)
	figure.tight_layout()
	figure.savefig(path)
	plt.close(figure)
