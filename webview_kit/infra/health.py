"""Whether this site's stack can serve webviews: for load balancers and monitors.

Four checks, each timed: MariaDB, the cache Redis, the queue Redis (events, history
and metrics live there) and a socket.io server, reached as a browser reaches it, with an
engine.io handshake through the front (`host_name`). Behind a front with several socket
servers that answer means at least one of them is up.

An anonymous caller sees each check's result and the kind of error only; the error
itself goes to the `webview_kit` log. To add a check, add a function that raises when
the dependency is unusable to `CHECKS`.
"""

from __future__ import annotations

import time

import frappe
import requests
from frappe.utils import get_url

__all__ = ["CHECKS", "HealthError", "run_checks", "socketio_probe_url"]

SOCKETIO_TIMEOUT = 3  # seconds; a load balancer's probe usually waits about 5


class HealthError(Exception):
	"""A dependency answered, but not as a healthy one does."""


def check_mariadb() -> None:
	frappe.db.sql("select 1")


def check_redis_cache() -> None:
	frappe.cache.ping()


def check_redis_queue() -> None:
	from frappe.utils.background_jobs import get_redis_connection_without_auth

	get_redis_connection_without_auth().ping()


def socketio_probe_url() -> str:
	"""The engine.io handshake URL: `webview_socketio_probe_url` if set, else through `host_name`."""
	return frappe.conf.get("webview_socketio_probe_url") or get_url("/socket.io/?EIO=4&transport=polling")


def check_socketio() -> None:
	response = requests.get(socketio_probe_url(), timeout=SOCKETIO_TIMEOUT)
	# An engine.io "open" packet: 0{"sid": ..., "upgrades": [...], ...}
	if response.status_code != 200 or not response.text.startswith("0{"):
		raise HealthError(f"HTTP {response.status_code} without an engine.io handshake")


CHECKS = {
	"mariadb": check_mariadb,
	"redis_cache": check_redis_cache,
	"redis_queue": check_redis_queue,
	"socketio": check_socketio,
}


def _run(name: str, check) -> dict:
	started = time.monotonic()
	try:
		check()
	except Exception as e:
		frappe.logger("webview_kit").warning(f"health check {name} failed: {e!r}")
		result = {"ok": False, "error": str(e) if isinstance(e, HealthError) else type(e).__name__}
	else:
		result = {"ok": True}
	result["ms"] = round((time.monotonic() - started) * 1000, 1)
	return result


def run_checks() -> dict:
	"""Run every check: `{"ok": all passed, "checks": {name: {"ok", "ms", "error"?}}}`."""
	checks = {name: _run(name, check) for name, check in CHECKS.items()}
	return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
