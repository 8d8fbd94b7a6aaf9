"""What the server tests share: test users, fresh rooms, fresh Frappe contexts, in-process requests.

A "fresh context" is a thread that runs `frappe.init` and `frappe.connect` for the test's
site, as a web worker or a background job would; it has its own database connection,
so it sees only what the test has committed.
"""

from __future__ import annotations

import functools
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from unittest.mock import patch

import frappe
from frappe.utils import background_jobs
from webview_kit_demo import setup, users

from webview_kit import auth, publish
from webview_kit.infra import compat


def ensure_user(email: str, roles: tuple[str, ...] = (), enabled: bool = True) -> str:
	"""Create `email` as a website user with exactly `roles` (plus Frappe's own), committed."""
	users.ensure_user(email, "Webview Test", roles, exact_roles=True, enabled=enabled)
	frappe.clear_cache(user=email)
	return email


def ensure_demo() -> None:
	"""The demo DocType, live: what the live-document tests use (install-app alone has none)."""
	setup.install()


def fresh_doc_room(doctype: str = "ToDo") -> str:
	"""A room no earlier test or run has published to."""
	return publish.doc_room(doctype, f"wvk-test-{frappe.generate_hash(length=12)}")


def clear_room(room: str) -> None:
	"""Delete a room's sequence, history and latest values, as expiry would."""
	publish.forget(room)


def _in_site(fn, site: str, sites_path: str):
	def run(*args, **kwargs):
		frappe.init(site=site, sites_path=sites_path)
		try:
			frappe.connect()
			return fn(*args, **kwargs)
		finally:
			frappe.destroy()

	return run


def in_fresh_context(fn):
	"""Wrap `fn` so that each call runs in a thread of its own, in a new context of the current site."""

	@functools.wraps(fn)
	def call(*args, **kwargs):
		run = _in_site(fn, frappe.local.site, frappe.local.sites_path)
		with ThreadPoolExecutor(max_workers=1) as pool:
			return pool.submit(run, *args, **kwargs).result(timeout=120)

	return call


def run_concurrently(fn, calls: list[tuple]) -> list:
	"""Run `fn(*args)` for each args tuple, each in its own thread and fresh context, all at once.

	Every thread connects first and waits at a barrier, so the calls overlap as much as
	they can. Returns each call's result, or the exception it raised, in call order.
	"""
	barrier = threading.Barrier(len(calls))

	def call(*args):
		barrier.wait(timeout=60)
		try:
			return fn(*args)
		except Exception as e:
			return e

	run = _in_site(call, frappe.local.site, frappe.local.sites_path)
	with ThreadPoolExecutor(max_workers=len(calls)) as pool:
		futures = [pool.submit(run, *args) for args in calls]
		return [f.result(timeout=300) for f in futures]


def unused_port() -> int:
	"""A loopback port nothing listens on."""
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


@contextmanager
def queue_redis_at(url: str, new_process: bool = False):
	"""Point the publisher's Redis (Frappe's queue Redis) at `url` for the block.

	By default the process keeps its connection object, as a long-running web or job
	worker does, but that object now talks to `url`. With `new_process=True` the process
	has neither connected nor published yet, as a fresh job or bench command, and
	connects (and pings) on first use.
	"""
	import redis

	conn = None if new_process else redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
	with (
		patch.dict(frappe.local.conf, {"redis_queue": url}),
		patch.object(background_jobs, "_redis_queue_conn", conn),
	):
		frappe.local.webview_kit_publish_script = None
		try:
			yield
		finally:
			if conn:
				conn.close()
			frappe.local.webview_kit_publish_script = None


class FlakyRedis:
	"""A TCP front for the real Redis that hangs up on the first `hang_ups` connections.

	Later connections are relayed to `target` untouched; `hang_ups=None` hangs up on all.
	`hung_up` counts the connections refused so far.
	"""

	def __init__(self, target_url: str, hang_ups: int | None = None):
		from urllib.parse import urlparse

		target = urlparse(target_url)
		self.target = (target.hostname, target.port)
		self.hang_ups = hang_ups
		self.hung_up = 0
		self._listener = socket.create_server(("127.0.0.1", 0))
		self._listener.settimeout(0.2)
		self._open: list[socket.socket] = []
		self._stop = threading.Event()
		self._thread = threading.Thread(target=self._serve, daemon=True)

	@property
	def url(self) -> str:
		return f"redis://127.0.0.1:{self._listener.getsockname()[1]}"

	def _serve(self):
		while not self._stop.is_set():
			try:
				client, _addr = self._listener.accept()
			except TimeoutError:
				continue
			except OSError:
				return
			if self.hang_ups is None or self.hung_up < self.hang_ups:
				# Read the first command before hanging up, as a Redis dying mid-request would:
				# redis-py then sees exactly one failed connection per attempt.
				client.settimeout(5)
				try:
					client.recv(65536)
				except OSError:
					pass
				self.hung_up += 1
				client.close()
				continue
			upstream = socket.create_connection(self.target)
			self._open += [client, upstream]
			for src, dst in ((client, upstream), (upstream, client)):
				threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

	@staticmethod
	def _pipe(src: socket.socket, dst: socket.socket):
		try:
			while data := src.recv(65536):
				dst.sendall(data)
		except OSError:
			pass
		finally:
			for s in (src, dst):
				try:
					s.shutdown(socket.SHUT_RDWR)
				except OSError:
					pass

	def __enter__(self):
		self._thread.start()
		return self

	def __exit__(self, *exc):
		self._stop.set()
		self._thread.join(timeout=5)
		self._listener.close()
		for s in self._open:
			s.close()


def wsgi_client():
	"""A cookie-keeping test client for Frappe's WSGI app."""
	import frappe.app
	from werkzeug.test import Client

	return Client(frappe.app.application)


def request(client, path: str, method: str = "GET", ip: str = "127.0.0.1", **kwargs):
	"""Send one request through Frappe's full WSGI app (hooks, sessions, renderers).

	It runs in its own thread because the app inits and destroys its own Frappe context,
	exactly as under gunicorn, and must not touch the test's.
	"""
	import frappe.app

	site, sites_path = frappe.local.site, frappe.local.sites_path
	# Frappe takes the client's address from X-Forwarded-For, which our nginx front sets.
	headers = {"X-Frappe-Site-Name": site, "X-Forwarded-For": ip, **kwargs.pop("headers", {})}

	def send():
		return client.open(
			path,
			method=method,
			headers=headers,
			environ_base={"REMOTE_ADDR": ip},
			buffered=True,
			follow_redirects=False,
			**kwargs,
		)

	with patch.object(frappe.app, "_sites_path", sites_path), ThreadPoolExecutor(max_workers=1) as pool:
		return pool.submit(send).result(timeout=120)


# -- sessions ---------------------------------------------------------------------
def sessions_of(user: str) -> set[str]:
	frappe.db.commit()  # a new snapshot, to see what other connections committed
	return set(frappe.db.sql_list("select sid from tabSessions where user = %s", user))


def session_data(sid: str) -> dict:
	frappe.db.commit()
	(stored,) = frappe.db.sql_list("select sessiondata from tabSessions where sid = %s", sid)
	return compat.parse_session_data(stored)


def sign_in(claims: dict | None = None, user: str | None = None) -> str:
	"""In a request of its own, start a webview session for `claims` (or a normal login); return its sid."""
	sid = _sign_in(claims, user)
	frappe.db.commit()  # a new snapshot: the caller sees the session the request committed
	return sid


@in_fresh_context
def _sign_in(claims: dict | None, user: str | None) -> str:
	from frappe.auth import HTTPRequest, LoginManager
	from frappe.utils import set_request

	set_request(method="GET", path=claims["route"] if claims else "/app")
	frappe.local.form_dict = frappe._dict()
	frappe.local.http_request = HTTPRequest()
	if claims:
		auth.start_session(claims)
	else:
		LoginManager().login_as(user)
	frappe.db.commit()
	return frappe.session.sid


# -- for the browser suite's `bench execute` on a site of its own --------------------
def probe(path: str, method: str = "GET", as_admin: bool = False, data: dict | None = None) -> dict:
	"""Send one request through this site's WSGI app (`bench --site S execute`); return its status and text.

	With `as_admin`, as Administrator with a fresh API key. For the browser suite, whose front
	serves one site only: it asks a site made with `stack.new_site` this way.
	"""
	headers = {"Authorization": f"token {users.new_api_key('Administrator')}"} if as_admin else {}
	response = request(wsgi_client(), path, method=method, data=data, headers=headers)
	return {"status": response.status_code, "text": response.get_data(as_text=True)[:2000]}
