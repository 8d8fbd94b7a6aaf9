"""The browser suite's stack, accounts, deep links and publisher, as pytest fixtures.

The session brings the native stack up (and down afterwards) unless
WEBVIEW_KIT_STACK says one is running already: `running` (the native stack of this
cache, as `make test` leaves it) or `docker` (docker/compose.yaml). Tests ask a stack
only for what `stack.protocol.StackProtocol` declares, which both stacks have.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from engines import webkit, webkit_app, webkit_screen, webkit_user  # noqa: F401  (the WebKit lane's fixtures)
from mobile import DEVICES, Editor, Orders, People

from stack.chromium import CHROMIUM, CHROMIUM_ARGS
from stack.docker import DockerStack, compose_logs
from stack.native import Stack
from stack.protocol import StackProtocol
from stack.session import stack_for_run
from stack.supervisor import log_tail
from stack.swarm import SwarmStack

ISSUER = "e2e-issuer@webview-kit.test"
POOL_SIZE = 120


DEVICE = "iPhone 13"  # pytest-playwright's --device picks another


def pytest_configure(config):
	config.addinivalue_line("markers", "phones: run each browser test once per phone in mobile.DEVICES")
	config.addinivalue_line(
		"markers", "webkit: the WebKit lane (WebKitGTK through WebDriver, e2e/engines.py)"
	)


def pytest_generate_tests(metafunc):
	chosen = any("phone" in mark.args[0] for mark in metafunc.definition.iter_markers("parametrize"))
	if metafunc.definition.get_closest_marker("phones") and "phone" in metafunc.fixturenames and not chosen:
		metafunc.parametrize("phone", list(DEVICES), indirect=True, ids=list(DEVICES))


@pytest.fixture(scope="session")
def stack() -> Iterator[StackProtocol]:
	kind = os.environ.get("WEBVIEW_KIT_STACK")
	kinds = {"docker": DockerStack, "swarm": SwarmStack}
	stack: StackProtocol = kinds.get(kind, Stack)()
	if kind and not stack.is_running():
		up = f"make up STACK={kind}" if kind in kinds else "make up"
		pytest.fail(f"WEBVIEW_KIT_STACK={kind} but no such stack is running: run `{up}` first.")
	with stack_for_run(stack, reuse=bool(kind) or stack.is_up()) as running:
		yield running


@contextmanager
def socket_servers(stack, count: int) -> Iterator[StackProtocol]:
	"""The stack with `count` socket servers while the block runs, and what it had afterwards."""
	before = len(stack.socket_clients())
	if before != count:
		stack.scale_socketio(count)
	try:
		yield stack
	finally:
		if before != count:
			stack.scale_socketio(before)


@pytest.fixture
def two_socket_servers(stack):
	"""A stack with two socket servers for this test.

	Natively a second socket.io process; on Docker a second `websocket` replica, with the
	front recreated to balance over both.
	"""
	with socket_servers(stack, 2):
		yield stack


@pytest.fixture
def one_socket_server(stack):
	"""A stack with one socket server for this test, so that the one an outage test stops
	(`socketio-0`) is the one its pages are on. The swarm runs two; the other stacks one."""
	with socket_servers(stack, 1):
		yield stack


@pytest.fixture
def site_setting(stack):
	"""Return `set(key, value)`: a site config value for this test, set back to None afterwards."""
	changed = []

	def set_(key: str, value) -> None:
		stack.site_output(["set-config", key, str(value)])
		changed.append(key)

	yield set_
	for key in reversed(changed):
		stack.site_output(["set-config", key, "None"])


@pytest.fixture(scope="session")
def base_url(stack):
	return stack.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
	return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def phone(request) -> str | None:
	"""The phone this test runs on ("iphone" or "pixel") in a module marked `phones`, else None."""
	return getattr(request, "param", None)


@pytest.fixture
def browser_context_args(browser_context_args, playwright, device, phone):
	return {**browser_context_args, **playwright.devices[DEVICES[phone] if phone else device or DEVICE]}


class Accounts:
	"""Fresh users for this run, and a mobile backend's API key to issue their links."""

	def __init__(self, stack):
		self.stack = stack
		# Stable names: a cached site creates them once. A stack kept running between
		# runs still holds their rooms (a count at 99 already), so those are forgotten.
		users = [f"e2e-{i}@webview-kit.test" for i in range(POOL_SIZE)]
		stack.site_output(["webview", "ensure-user", *itertools.chain(*(("--email", u) for u in users))])
		stack.site_output(["webview", "forget", *itertools.chain(*(("--user", u) for u in users))])
		issuer_line = stack.site_output(
			["webview", "ensure-user", "--email", ISSUER, "--role", "Webview Issuer", "--api-key"]
		)
		self.issuer_key = issuer_line.split()[-1]
		self.free = iter(users)

	def take(self) -> str:
		return next(self.free)

	def call(self, method: str, **data) -> requests.Response:
		"""POST a whitelisted method as the mobile backend would, with its API key."""
		return requests.post(
			f"{self.stack.url}/api/method/{method}",
			data=data,
			headers={"Authorization": f"token {self.issuer_key}", "Accept": "application/json"},
			timeout=30,
		)

	def link(
		self, user: str, route: str = "/webview/count", ttl: int = 120, params: dict | None = None
	) -> str:
		"""A deep link for `user` to `route` with the page's `params`, as a mobile backend asks for one."""
		response = self.issue(user, route, ttl, params)
		response.raise_for_status()
		return response.json()["message"]["url"]

	def issue(self, user: str, route: str, ttl: int = 120, params: dict | None = None) -> requests.Response:
		data = {
			"user": user,
			"route": route,
			"ttl": ttl,
			**({"params": json.dumps(params)} if params else {}),
		}
		return self.call("webview_kit.api.issue_link", **data)


@pytest.fixture(scope="session")
def accounts(stack) -> Accounts:
	return Accounts(stack)


@pytest.fixture
def user(accounts) -> str:
	"""A user no other test of this run has used."""
	return accounts.take()


@pytest.fixture
def deep_link(accounts, user) -> str:
	return accounts.link(user)


class Publisher:
	"""The `bench webview count` publisher, started ahead and released on `go()`."""

	def __init__(
		self, stack, user: str, log: Path, interval: float, upto: int, options: tuple[str, ...] = ()
	):
		self.log = log
		argv = [
			"webview",
			"count",
			"--user",
			user,
			"--interval",
			str(interval),
			"--upto",
			str(upto),
			"--wait",
		]
		self.process = stack.site_process([*argv, *options], log)
		deadline = time.monotonic() + 60
		while "ready" not in log.read_text():
			if self.process.poll() is not None or time.monotonic() > deadline:
				raise RuntimeError(f"the publisher did not start:\n{log_tail(log)}")
			time.sleep(0.05)

	@property
	def first_seq(self) -> int:
		"""The sequence number the first count (0) gets in the user's room."""
		deadline = time.monotonic() + 30
		while not (match := re.search(r"after seq (\d+)", self.log.read_text())):
			assert time.monotonic() < deadline and self.process.poll() is None, log_tail(self.log)
			time.sleep(0.02)
		return int(match.group(1)) + 1

	def go(self) -> None:
		self.process.stdin.write(b"go\n")
		self.process.stdin.close()

	def wait(self, timeout: float = 120) -> None:
		assert self.process.wait(timeout) == 0, log_tail(self.log)


@pytest.fixture
def start_publisher(stack, user, tmp_path):
	"""Return `make(interval=..., upto=..., *options)` giving a ready Publisher for this test's user.

	`options` go to `bench webview count` (`--event count`, `--stock`).
	"""
	publishers = []

	def make(interval: float = 0.015, upto: int = 99, *options: str) -> Publisher:
		log = tmp_path / f"publisher-{len(publishers)}.log"
		publishers.append(Publisher(stack, user, log, interval, upto, options))
		return publishers[-1]

	yield make
	for publisher in publishers:
		if publisher.process.poll() is None:
			publisher.process.kill()
		publisher.process.wait()


@pytest.fixture(scope="session")
def people(stack) -> People:
	return People(stack)


@pytest.fixture
def editor(people) -> Editor:
	return people.editor


@pytest.fixture
def orders(stack, editor) -> Orders:
	return Orders(stack, editor)


@pytest.fixture
def ana(people, phone) -> str:
	"""This phone's Ana, with no demo tasks shared with her."""
	user = people.email("Ana", phone)
	people.editor.delete_tasks_of(user)
	return user


@pytest.fixture
def ben(people, phone) -> str:
	user = people.email("Ben", phone)
	people.editor.delete_tasks_of(user)
	return user


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
	"""On failure, add the stack's log tails to the report."""
	outcome = yield
	report = outcome.get_result()
	stack = item.funcargs.get("stack")
	if not report.failed or stack is None:
		return
	if isinstance(stack, DockerStack):
		report.sections.append(("docker compose logs", compose_logs(30)))
	elif layout := getattr(stack, "layout", None):
		for log in sorted(layout.logs.glob("*.log")):
			report.sections.append((f"stack log {log.name}", log_tail(log, 30)))
