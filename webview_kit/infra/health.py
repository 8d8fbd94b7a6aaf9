"""Whether this site's stack can serve webviews: for load balancers and monitors.

Four checks, each timed: MariaDB, the cache Redis, the queue Redis (events, history
and metrics live there) and a socket.io server, reached as a browser reaches it, with an
engine.io handshake through the front (`host_name`). Behind a front with several socket
servers that answer means at least one of them is up.

The probe goes only to a configured address (`webview_socketio_probe_url`, else the
site's `host_name`), never to one built from the request: anyone may call the health
endpoint, and it must not become a way to make the server fetch other URLs. A report is
kept for a few seconds, so a flood of calls costs one round of checks.

An anonymous caller sees each check's result and the kind of error only; the error
itself goes to the `webview_kit` log. To add a check, add a function that raises when
the dependency is unusable to `CHECKS`.
"""

from __future__ import annotations

import time

import frappe
import redis
import requests

from webview_kit.infra import queue_redis

__all__ = ["CHECKS", "HealthError", "report", "run_checks", "socketio_probe_url"]

SOCKETIO_TIMEOUT = 3  # seconds; a load balancer's probe usually waits about 5
REPORT_TTL = 5  # seconds a report is answered from the cache
REPORT_KEY = "webview_kit:health"
SOCKETIO_PATH = "/socket.io/?EIO=4&transport=polling"


class HealthError(Exception):
	"""A dependency answered, but not as a healthy one does."""


def check_mariadb() -> None:
	frappe.db.sql("select 1")


def check_redis_cache() -> None:
	frappe.cache.ping()


def check_redis_queue() -> None:
	queue_redis.connection().ping()


def socketio_probe_url() -> str | None:
	"""The engine.io handshake URL: `webview_socketio_probe_url`, else through `host_name`, else None."""
	if url := frappe.conf.get("webview_socketio_probe_url"):
		return url
	host = frappe.conf.get("host_name")
	return f"{host.rstrip('/')}{SOCKETIO_PATH}" if host else None


def check_socketio() -> None:
	url = socketio_probe_url()
	if not url:
		raise HealthError("no probe address: set host_name or webview_socketio_probe_url in site config")
	response = requests.get(url, timeout=SOCKETIO_TIMEOUT, allow_redirects=False)
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


def report() -> dict:
	"""`run_checks()`, answered from the cache for REPORT_TTL seconds after each run."""
	try:
		cached = frappe.cache.get_value(REPORT_KEY)
	except redis.exceptions.RedisError:  # the cache Redis being down is what the checks report
		cached = None
	if cached:
		return cached
	fresh = run_checks()
	try:
		frappe.cache.set_value(REPORT_KEY, fresh, expires_in_sec=REPORT_TTL)
	except redis.exceptions.RedisError:
		pass
	return fresh
