"""`make up`'s demo: a user, the count publisher, and a deep link to watch it."""

from __future__ import annotations

from .services import Process, frappe_env

DEMO_USER = "demo@webview-kit.test"


def publisher(site: str, stack_env: dict, user: str, interval: float) -> Process:
	argv = (
		"../env/bin/python",
		"-m",
		"frappe.utils.bench_helper",
		"frappe",
		"--site",
		site,
		"webview",
		"count",
		"--user",
		user,
		"--interval",
		str(interval),
		"--repeat",
	)
	return Process("demo-publisher", argv, cwd="sites", env=stack_env, ready=("log", "Publishing count"))


def start_demo(stack) -> None:
	site = stack.layout.site
	stack.site_command(["webview", "ensure-user", "--email", DEMO_USER, "--first-name", "Demo"], "demo-user")
	stack.supervisor.start(publisher(site, frappe_env(site, stack.endpoints), DEMO_USER, 1.0), timeout=60)
	print(f"\nThe count publisher is running for {DEMO_USER} (one value a second, 0..99, repeating).")
	print("Open this single-use link in a browser or a mobile WebView (valid 10 minutes):\n")
	stack.site_command(
		["webview", "link", "--user", DEMO_USER, "--route", "/webview/count", "--ttl", "600", "--qr"],
		"demo-link",
		show=True,
	)
	print("\nA fresh link any time: make link. A page made of live fragments: make order")
