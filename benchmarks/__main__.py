"""`python -m benchmarks [--quick] [--only ...]`: webview_kit against stock Frappe, side by side.

Brings the native stack up (or uses the running one with WEBVIEW_KIT_STACK=running),
measures both columns in one run on this machine, prints the table and writes JSON and
a PNG chart to benchmarks/results/ (a whole full-size run also to benchmarks/latest.{json,png},
the README's copies).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path

from playwright.sync_api import sync_playwright

from stack.session import stack_for_run
from stack.supervisor import StackError

from . import (
	actions,
	browser,
	engines,
	fanout,
	fragments,
	history,
	latency,
	navigation,
	phone_network,
	report,
	roll,
	soak,
	throughput,
	tokens,
	weight,
)
from .loadgen import ensure_node_modules
from .run import FULL, QUICK, Bench, native_stack
from .stats import Results

HERE = Path(__file__).parent
# Run order: the socket-heavy measures before the publish flood of `throughput`.
MEASURES = {
	"latency": latency.run,
	"navigation": navigation.run,
	"phone_network": phone_network.run,
	"engines": engines.run,
	"weight": weight.run,
	"fanout": fanout.run,
	"tokens": tokens.run,
	"actions": actions.run,
	"fragments": fragments.run,
	"soak": soak.run,
	"history": history.run,
	"throughput": throughput.run,
	# Only on the swarm (make benchmark STACK=swarm runs it alone).
	"roll": roll.run,
}


def main(argv: list[str] | None = None) -> int:
	parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
	parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test of the whole run")
	parser.add_argument("--only", help=f"comma-separated measures, of: {', '.join(MEASURES)}")
	parser.add_argument(
		"--sockets", help="comma-separated fan-out sizes instead of the run's (100,1000,10000)"
	)
	parser.add_argument(
		"--restart-at",
		type=int,
		metavar="N",
		help="restart the socket server at the largest fan-out size up to N (the run's: 1000)",
	)
	parser.add_argument("--out", type=Path, default=HERE / "results", help="where results go")
	args = parser.parse_args(argv)
	swarm = os.environ.get("WEBVIEW_KIT_STACK") == "swarm"
	default = ["roll"] if swarm else [name for name in MEASURES if name != "roll"]
	only = args.only.split(",") if args.only else default
	unknown = set(only) - set(MEASURES)
	if unknown:
		parser.error(f"unknown measures: {', '.join(sorted(unknown))}")
	sizes = QUICK if args.quick else FULL
	if args.sockets:
		sizes = replace(sizes, fanout=tuple(int(n) for n in args.sockets.split(",")))
	if args.restart_at is not None:
		sizes = replace(sizes, restart_sockets=args.restart_at)
	stamp = time.strftime("%Y%m%d-%H%M%S")
	logs = args.out / f"{stamp}-logs"
	logs.mkdir(parents=True, exist_ok=True)
	results = Results()
	began = time.monotonic()
	machine = report.machine()
	try:
		ensure_node_modules()
		stack = native_stack()
		reuse = os.environ.get("WEBVIEW_KIT_STACK") in ("running", "swarm")
		with stack_for_run(stack, reuse=reuse), sync_playwright() as playwright:
			chromium = browser.launch(playwright)
			bench = Bench(stack, sizes, chromium, logs)
			try:
				for name in only:
					print(f"== {name} ==", flush=True)
					started = time.monotonic()
					try:
						MEASURES[name](bench, results)
					except Exception:
						# One broken measure must not cost the others: report it and go on.
						results.skipped[name] = traceback.format_exc()
						print(f"   {name} FAILED (the report says why)", flush=True)
					print(f"   {name}: {time.monotonic() - started:.0f}s", flush=True)
				results.details["stack"] = {"frappe": bench.setup["frappe_version"]}
				results.details["webview_kit_version"] = bench.setup["webview_kit_version"]
			finally:
				bench.close()
				chromium.close()
	except StackError as error:
		print(f"\nerror: {error}", file=sys.stderr)
		return 1
	machine["load_after"] = report.loadavg()
	run = {"sizes": sizes.name, "seconds": time.monotonic() - began, "stamp": stamp, "logs": str(logs)}
	print()
	print(report.table(results, machine, run))
	# Only a whole run at full size may become the README's figures.
	whole = not (args.quick or args.only or args.sockets or args.restart_at is not None or swarm)
	paths = report.write(results, machine, run, args.out, stamp, latest=HERE if whole else None)
	print("\nWrote " + ", ".join(str(p) for p in paths))
	return 1 if results.skipped else 0


if __name__ == "__main__":
	sys.exit(main())
