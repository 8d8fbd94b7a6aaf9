"""`python -m stack <verb>`: the verbs behind the Makefile (see `stack/run --help`)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from . import bench
from .demo import DEMO_USER, start_demo
from .docker import DockerStack
from .layout import REPO
from .native import Stack
from .session import stack_for_run
from .supervisor import StackError
from .swarm import SwarmStack


def cmd_build(stack: Stack, args: argparse.Namespace) -> None:
	bench.as_bench_user(stack.layout, stack.layout.cache)
	with stack._locked():
		bench.ensure_bench(stack.layout)
	print(f"Bench: ok ({stack.layout.bench})")


def choose_stack(choice: str) -> Stack | DockerStack:
	"""The stack `--stack` names; `auto` is docker when an engine answers, native otherwise."""
	reason = f"--stack {choice}"
	if choice == "auto":
		problem = DockerStack.engine_problem()
		choice = "native" if problem else "docker"
		reason = f"auto: {problem}" if problem else "auto: a Docker engine answers"
	print(f"Stack: {choice} ({reason})", flush=True)
	if choice == "swarm":
		return SwarmStack()
	return DockerStack() if choice == "docker" else Stack()


def cmd_up(stack: Stack | DockerStack, args: argparse.Namespace) -> None:
	stack.up()
	docker = isinstance(stack, (DockerStack, SwarmStack))
	logs = f"`{stack.logs_hint}`" if docker else stack.layout.logs
	print(f"\nThe stack is up at {stack.url} (site {stack.site}); logs: {logs}")
	if docker:
		print(f"Desk: {stack.url}/app as Administrator, password from `{stack.admin_password_command}`")
	else:
		print(f"Desk: {stack.url}/app as Administrator, password in {stack.layout.admin_password_file}")
		if stack.layout.public_url or stack.layout.host != "127.0.0.1":
			print(f"A phone on the same network opens {stack.public_url} (links and QR codes point there)")
	if args.demo:
		if docker:
			stack.start_demo()
		else:
			start_demo(stack)
	# `make down` alone finds a native or compose stack; a swarm's must be named.
	print("Stop it with: make down" + (" STACK=swarm" if isinstance(stack, SwarmStack) else ""))


def cmd_down(stack: Stack, args: argparse.Namespace) -> None:
	if args.stack == "docker":
		stack = DockerStack()
	elif args.stack == "swarm":
		stack = SwarmStack()
	elif args.stack == "auto":
		# Stop whichever is running: `up` may have picked either.
		stack = Stack() if Stack().is_running() or DockerStack.engine_problem() else DockerStack()
	stack.down()
	print("The stack is down.")


def cmd_status(stack: Stack, args: argparse.Namespace) -> None:
	processes = stack.supervisor.processes
	if not processes:
		print("No stack is recorded as running.")
		return
	for name, record in processes.items():
		state = "up" if stack.supervisor.alive(name) else "DOWN"
		restarts = stack.supervisor.restarts(name)
		again = f"restarted {restarts}x" if restarts else ""
		print(f"{name:15} {state:5} pid {record['pid']:<8} {again:14} {record['log']}")
	print(f"front: {stack.url}")


def cmd_link(stack: Stack, args: argparse.Namespace) -> None:
	argv = ["webview", "link", "--user", args.user, "--route", args.route, "--ttl", str(args.ttl)]
	argv += [f"--param={pair}" for pair in args.param]
	stack.site_command([*argv, *(["--qr"] if args.qr else [])], "link", show=True)


def cmd_order(stack: Stack, args: argparse.Namespace) -> None:
	"""Start delivering a demo order to `args.user`, and print a link to watch it live."""
	order = ["webview", "order", "--user", args.user, "--enqueue", "--interval", str(args.interval)]
	name = stack.site_output(order).strip().splitlines()[-1]
	link = ["webview", "link", "--user", args.user, "--route", "/webview/order", f"--param=name={name}"]
	url = stack.site_output([*link, "--ttl", "600"]).strip().splitlines()[-1]
	print(f"Order {name} is being packed and delivered, a step every {args.interval:g} s.")
	print("Watch it (a page made of live fragments) with this single-use link, valid 10 minutes:\n")
	print(url)


def cmd_site(stack: Stack, args: argparse.Namespace) -> None:
	stack.site_command(args.args, "site-command", show=True)


def cmd_test(stack: Stack | DockerStack, args: argparse.Namespace) -> int:
	"""Run the server tests under bench and the pytest suites against one stack."""
	if isinstance(stack, (DockerStack, SwarmStack)):
		reuse = stack.is_up()
		if reuse:  # compose rebuilds the image from this checkout and recreates only what changed
			stack.up()
	else:
		reuse = stack.is_up() and bench.app_is_current(stack.layout)
		if not reuse and stack.is_running():
			print("The running stack has other app code than this checkout: restarting it.")
	with stack_for_run(stack, reuse=reuse, keep=args.keep):
		if args.only in (None, "server"):
			print("\n== Server tests (bench run-tests --app webview_kit) ==", flush=True)
			# Without CI set, Frappe's run-tests exits 0 whatever failed.
			stack.site_command(
				["run-tests", "--app", "webview_kit"], "server-tests", show=True, env={"CI": "1"}
			)
		if args.only == "server":
			return 0
		print("\n== Static checks and the browser suite (pytest) ==", flush=True)
		suites = ["e2e"] if args.only == "e2e" else ["stack/tests", "e2e"]
		which = {DockerStack: "docker", SwarmStack: "swarm"}.get(type(stack), "running")
		env = {**os.environ, "WEBVIEW_KIT_STACK": which}
		return subprocess.run(
			[sys.executable, "-m", "pytest", *suites, *args.pytest_args], cwd=REPO, env=env
		).returncode


def cmd_lint(stack: Stack, args: argparse.Namespace) -> int:
	ruff = [sys.executable, "-m", "ruff"]
	paths = ["webview_kit", "apps", "stack", "e2e", "benchmarks"]
	checks = [[*ruff, "check", *paths], [*ruff, "format", "--check", *paths]]
	tsc = REPO / "node_modules" / ".bin" / "tsc"
	if not tsc.exists():  # typescript is a devDependency: the bench's production install leaves it out
		subprocess.run(["yarn", "install", "--frozen-lockfile", "--non-interactive"], cwd=REPO, check=True)
	# The page side's types (types/webview-kit.d.ts) against a small typed example.
	checks.append([str(tsc), "--noEmit", "-p", "types"])
	return max(subprocess.run(check, cwd=REPO).returncode for check in checks)


def cmd_benchmark(stack: Stack, args: argparse.Namespace) -> int:
	return subprocess.run([sys.executable, "-m", "benchmarks", *args.bench_args], cwd=REPO).returncode


def main(argv: list[str] | None = None) -> int:
	parser = argparse.ArgumentParser(prog="stack/run")
	verbs = parser.add_subparsers(dest="verb", required=True)
	verbs.add_parser("build", help="build the cached bench unless it is there")
	up = verbs.add_parser("up", help="build what is missing and start the stack")
	up.add_argument(
		"--demo", action="store_true", help="also start the count publisher and print a deep link"
	)
	up.add_argument("--stack", default="native", choices=["native", "docker", "swarm", "auto"])
	down = verbs.add_parser("down", help="stop every process the last `up` started")
	down.add_argument("--stack", default="native", choices=["native", "docker", "swarm", "auto"])
	verbs.add_parser("status", help="show the recorded processes")
	link = verbs.add_parser("link", help="print a deep link that signs a user in to a webview")
	link.add_argument("--user", default=DEMO_USER)
	link.add_argument("--route", default="/webview/count")
	link.add_argument("--ttl", type=int, default=600)
	link.add_argument("--qr", action="store_true")
	link.add_argument(
		"--param",
		action="append",
		default=[],
		metavar="NAME=VALUE",
		help="a parameter of the page (repeatable)",
	)
	order = verbs.add_parser("order", help="deliver a demo order step by step and print a link to watch it")
	order.add_argument("--user", default=DEMO_USER)
	order.add_argument("--interval", type=float, default=3.0)
	site = verbs.add_parser("site", help="run a Frappe site command against the running stack")
	site.add_argument("args", nargs=argparse.REMAINDER)
	test = verbs.add_parser("test", help="server tests under bench, then static checks and the browser suite")
	test.add_argument("--stack", default="native", choices=["native", "docker", "swarm", "auto"])
	test.add_argument("--only", choices=["server", "e2e"])
	test.add_argument("--keep", action="store_true", help="leave the stack running afterwards")
	test.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
	verbs.add_parser("lint", help="ruff with Frappe's settings")
	# Everything after `benchmark` goes to `python -m benchmarks` (try `stack/run benchmark --help`).
	benchmark = verbs.add_parser(
		"benchmark", help="webview_kit against stock Frappe, side by side", prefix_chars="+", add_help=False
	)
	benchmark.add_argument("bench_args", nargs="*")
	args = parser.parse_args(argv)
	handlers = {
		"build": cmd_build,
		"up": cmd_up,
		"down": cmd_down,
		"status": cmd_status,
		"link": cmd_link,
		"order": cmd_order,
		"site": cmd_site,
		"test": cmd_test,
		"lint": cmd_lint,
		"benchmark": cmd_benchmark,
	}
	try:
		stack = choose_stack(args.stack) if args.verb in ("up", "test") else Stack()
		return handlers[args.verb](stack, args) or 0
	except StackError as error:
		print(f"\nerror: {error}", file=sys.stderr)
		return 1
	except KeyboardInterrupt:
		return 130


if __name__ == "__main__":
	sys.exit(main())
