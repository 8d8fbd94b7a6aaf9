"""One benchmark run: its sizes, the stack, the site's users and pages, and the clients' sessions."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import requests
from playwright.sync_api import Browser, BrowserContext, Page

from stack.native import Stack
from stack.supervisor import StackError

from . import browser
from .agent import Agent

KINDS = ("webview_kit", "stock")
USERS = {
	"webview_kit": "bench-webview@webview-kit.test",
	"stock": "bench-stock@webview-kit.test",
	"throughput": "bench-throughput@webview-kit.test",
}
ISSUER = "bench-issuer@webview-kit.test"
ROUTE = "/webview/count"
# The event each kind of page follows: the count page's own, and the stock page's (inbench.py).
EVENTS = {"webview_kit": "webview_kit.count", "stock": "bench_tick"}


@dataclass(frozen=True)
class Sizes:
	"""How much of everything one run does; `--quick` is a smoke test of the whole path."""

	name: str
	latency_events: int = 300
	latency_interval: float = 0.02
	navigation_samples: int = 10
	navigation_rate: float = 100.0  # events per second published while pages load
	fanout: tuple[int, ...] = (100, 1000, 10_000)
	# (events, seconds between them) per fan-out size
	fanout_events: dict = field(
		default_factory=lambda: {100: (50, 0.05), 1000: (20, 0.25), 10_000: (20, 1.0)}
	)
	# The socket server is killed and restarted at the largest fan-out size up to this.
	restart_sockets: int = 1000
	browser_pages: int = 3
	sessions: int = 20  # sessions the Node sockets share (each connect is still authenticated)
	restart_outage: float = 1.0
	restart_rate: float = 20.0  # events/s across a restart; history keeps 1,000 per room
	roll_sockets: int = int(
		os.environ.get("ROLL_SOCKETS", "1000")
	)  # sockets through a swarm's rolling deploy
	throughput_seconds: float = 3.0
	token_samples: int = 100
	soak_events: int = 100_000  # published to one page that stays open
	history_rooms: int = 10_000  # rooms the history budget measure publishes to

	def events_for(self, size: int) -> tuple[int, float]:
		if size in self.fanout_events:
			return self.fanout_events[size]
		return (20, 1.0) if size >= 5000 else (20, 0.25) if size >= 500 else (50, 0.05)


FULL = Sizes("full")
QUICK = Sizes(
	"quick",
	latency_events=60,
	navigation_samples=3,
	fanout=(20,),
	fanout_events={20: (20, 0.05)},
	restart_sockets=20,
	browser_pages=2,
	sessions=4,
	throughput_seconds=1.0,
	token_samples=20,
	soak_events=11_000,
	history_rooms=1_000,
)


def http_login(url: str, user: str, password: str) -> str:
	"""Sign in the stock way (POST /api/method/login) and return the session id."""
	response = requests.post(f"{url}/api/method/login", data={"usr": user, "pwd": password}, timeout=30)
	response.raise_for_status()
	return response.cookies["sid"]


def http_redeem(link: str) -> str:
	"""Open a deep link as a webview does and return the session id it started.

	The redirect is followed: the page's first render binds the session to the rooms it
	declares, and a session that never rendered its page may follow no room (scope.py).
	"""
	response = requests.get(link, allow_redirects=False, timeout=30)
	if response.status_code != 303 or "sid" not in response.cookies:
		raise RuntimeError(f"redeeming a deep link answered {response.status_code}: {response.text[:300]}")
	sid = response.cookies["sid"]
	page = requests.get(urljoin(link, response.headers["Location"]), cookies={"sid": sid}, timeout=30)
	if page.status_code != 200:
		raise RuntimeError(f"the deep link's page answered {page.status_code}: {page.text[:300]}")
	return sid


def native_stack() -> Stack:
	"""The native stack to measure; with WEBVIEW_KIT_STACK=running it must be up already."""
	kind = os.environ.get("WEBVIEW_KIT_STACK")
	if kind == "swarm":
		from stack.swarm import SwarmStack

		swarm = SwarmStack()
		if not swarm.is_up():
			raise StackError(
				"WEBVIEW_KIT_STACK=swarm but the swarm stack is not up: run `make up STACK=swarm` first."
			)
		return swarm
	if kind == "docker":
		raise StackError(
			"The benchmark measures the native stack: unset WEBVIEW_KIT_STACK or set it to `running`."
		)
	stack = Stack()
	if kind == "running" and not stack.is_up():
		raise StackError("WEBVIEW_KIT_STACK=running but no complete stack is running: run `make up` first.")
	return stack


class Bench:
	"""What every measure shares: stack, helpers inside the site, users, the browser."""

	def __init__(self, stack: Stack, sizes: Sizes, browser_: Browser, logs: Path):
		self.stack = stack
		self.sizes = sizes
		self.browser = browser_
		self.logs = logs
		self.url = stack.url
		self.site = stack.site
		self.users = USERS
		# Each takes seconds to import Frappe: start both at once.
		with ThreadPoolExecutor(2) as pool:
			agent = pool.submit(Agent, stack, logs / "agent.log")
			streamer = pool.submit(Agent, stack, logs / "streamer.log")
			self.agent, self.streamer = agent.result(), streamer.result()
		self.setup = self.agent.call("setup", users=USERS, issuer=ISSUER)
		self.password = self.setup["password"]
		self.issuer_key = self.setup["issuer_key"]
		self.stock_page = f"{self.url}{self.setup['stock_route']}"
		self._next_count = 0

	def close(self) -> None:
		try:
			self.agent.call("restore", restore=self.setup["restore"])
		finally:
			self.agent.close()
			self.streamer.close()

	def counts(self, n: int) -> int:
		"""The first of `n` fresh count values, so no two phases' events look alike."""
		start = self._next_count
		self._next_count += n + 1000
		return start

	# -- sessions ------------------------------------------------------------------
	def links(self, n: int) -> list[str]:
		return self.agent.call("links", user=USERS["webview_kit"], route=ROUTE, count=n)

	def sids(self, kind: str, n: int) -> list[str]:
		"""`n` real sessions of the kind's user: redeemed deep links, or stock logins."""
		if kind == "webview_kit":
			return [http_redeem(link) for link in self.links(n)]
		return [http_login(self.url, USERS["stock"], self.password) for _ in range(n)]

	# -- pages -----------------------------------------------------------------------
	def new_context(self, kind: str, sid: str | None = None) -> BrowserContext:
		"""A cold browser context: no cache; the webview hook, or the stock session's cookie."""
		context = self.browser.new_context()
		if kind == "webview_kit":
			context.add_init_script(browser.webview_hook(EVENTS[kind]))
		else:
			sid = sid or http_login(self.url, USERS["stock"], self.password)
			context.add_cookies([{"name": "sid", "value": sid, "url": self.url}])
		return context

	def target(self, kind: str) -> str:
		return self.links(1)[0] if kind == "webview_kit" else self.stock_page

	def open_live(self, kind: str, context: BrowserContext | None = None) -> Page:
		"""A page of the kind, open and live; its context closes with `close_page`."""
		context = context or self.new_context(kind)
		page = context.new_page()
		page.goto(self.target(kind))
		browser.wait_live(page, kind)
		return page

	@staticmethod
	def close_page(page: Page) -> None:
		page.context.close()

	def wait_for_records(self, page: Page, counts: set[int], timeout: float = 10) -> list:
		"""The page's records once it applied every count in `counts` (or `timeout` passed)."""
		deadline = time.monotonic() + timeout
		while True:
			got = browser.records(page)
			if counts <= {r[0] for r in got} or time.monotonic() > deadline:
				return got
			time.sleep(0.05)
