"""`python -m stack up|down|status|link|site`: the verbs behind the Makefile."""

from __future__ import annotations

import argparse
import sys

from .demo import DEMO_USER, start_demo
from .native import Stack
from .supervisor import StackError


def cmd_up(stack: Stack, args: argparse.Namespace) -> None:
	stack.up()
	print(f"\nThe stack is up at {stack.url} (site {stack.layout.site}); logs in {stack.layout.logs}")
	if args.demo:
		start_demo(stack)
	print("Stop it with: make down")


def cmd_down(stack: Stack, args: argparse.Namespace) -> None:
	stack.down()
	print("The stack is down.")


def cmd_status(stack: Stack, args: argparse.Namespace) -> None:
	processes = stack.supervisor.processes
	if not processes:
		print("No stack is recorded as running.")
		return
	for name, record in processes.items():
		state = "up" if stack.supervisor.alive(name) else "DOWN"
		print(f"{name:12} {state:5} pid {record['pid']:<8} {record['log']}")
	print(f"front: {stack.url}")


def cmd_link(stack: Stack, args: argparse.Namespace) -> None:
	argv = ["webview", "link", "--user", args.user, "--route", args.route, "--ttl", str(args.ttl)]
	stack.site_command([*argv, *(["--qr"] if args.qr else [])], "link", show=True)


def cmd_site(stack: Stack, args: argparse.Namespace) -> None:
	stack.site_command(args.args, "site-command", show=True)


def main(argv: list[str] | None = None) -> int:
	parser = argparse.ArgumentParser(prog="python -m stack")
	verbs = parser.add_subparsers(dest="verb", required=True)
	up = verbs.add_parser("up", help="build what is missing and start the stack")
	up.add_argument("--demo", action="store_true", help="also start the count publisher and print a deep link")
	verbs.add_parser("down", help="stop every process the last `up` started")
	verbs.add_parser("status", help="show the recorded processes")
	link = verbs.add_parser("link", help="print a deep link that signs a user in to a webview")
	link.add_argument("--user", default=DEMO_USER)
	link.add_argument("--route", default="/webview/count")
	link.add_argument("--ttl", type=int, default=600)
	link.add_argument("--qr", action="store_true")
	site = verbs.add_parser("site", help="run a Frappe site command against the running stack")
	site.add_argument("args", nargs=argparse.REMAINDER)
	args = parser.parse_args(argv)
	handler = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "link": cmd_link, "site": cmd_site}
	try:
		handler[args.verb](Stack(), args)
	except StackError as error:
		print(f"\nerror: {error}", file=sys.stderr)
		return 1
	except KeyboardInterrupt:
		return 130
	return 0


if __name__ == "__main__":
	sys.exit(main())
