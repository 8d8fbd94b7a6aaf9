"""Webview pages without a browser: a session, a socket.io client and the page's catch-up protocol.

A `SocketPage` redeems a deep link as the browser would (keeping the `sid` cookie), reads
the room position the page rendered with, and connects through the front to namespace
`/<site>` with WebSocket transport. It applies events as `webview.bundle.js` does: in
sequence order, each once, fetching what it missed from `webview_kit.api.catch_up` on
every (re)connect and whenever a live event skips ahead.

python-socketio calls handlers on threads of its own, so handlers only queue what
happened; `SocketPages.run_until` applies it all on the caller's thread, one page at a time.
"""

from __future__ import annotations

import json
import queue
import re
import time
from collections.abc import Callable

import requests
import socketio

CATCH_UP = "/api/method/webview_kit.api.catch_up"
CONFIG_RE = re.compile(r'<script type="application/json" id="wvk-config">(.*?)</script>', re.S)


class SocketPage:
	"""One socket client that follows the single room of a webview page."""

	def __init__(self, front: str, link: str, inbox: queue.Queue, event: str):
		self.front = front
		self.http = requests.Session()
		response = self.http.get(link, timeout=30)
		response.raise_for_status()
		config = json.loads(CONFIG_RE.search(response.text).group(1))
		((self.room, position),) = config["rooms"].items()
		self.initial = self.seq = position["seq"]
		self.epoch = position["epoch"]
		self.applied: list[int] = []
		self.replayed = 0  # events applied from catch-up answers rather than live
		self.resyncs = 0
		self.disconnects: list[int] = []  # the sequence applied when each disconnect came
		self.outages: list[float] = []  # seconds from each disconnect to the next connect
		self.pending: dict[int, dict] = {}
		self.disconnected_at: float | None = None
		namespace = f"/{config['site']}"
		self.socket = socketio.Client(reconnection_delay=0.25, reconnection_delay_max=4)
		put = lambda kind, payload=None: inbox.put((self, kind, payload, time.monotonic()))  # noqa: E731
		self.socket.on("connect", lambda: put("connect"), namespace=namespace)
		self.socket.on("disconnect", lambda *_: put("disconnect"), namespace=namespace)
		self.socket.on(event, lambda envelope: put("event", envelope), namespace=namespace)
		self.socket.connect(
			front,
			headers={"Cookie": f"sid={self.http.cookies['sid']}"},
			transports=["websocket"],
			namespaces=[namespace],
			wait_timeout=15,
		)

	def handle(self, kind: str, payload: dict | None, at: float) -> None:
		if kind == "connect":
			if self.disconnected_at is not None:
				self.outages.append(at - self.disconnected_at)
				self.disconnected_at = None
			self.catch_up()
		elif kind == "disconnect":
			self.disconnects.append(self.seq)
			self.disconnected_at = at
		elif payload.get("room") == self.room:
			self.receive(payload)

	def receive(self, envelope: dict) -> None:
		if envelope["seq"] <= self.seq:
			return  # seen already
		self.pending[envelope["seq"]] = envelope
		self.apply_pending()
		if self.pending:
			self.catch_up()  # a gap: fetch what is missing first

	def catch_up(self) -> None:
		while True:
			params = {"room": self.room, "after": self.seq, "epoch": self.epoch}
			response = self.http.get(f"{self.front}{CATCH_UP}", params=params, timeout=30)
			response.raise_for_status()
			answer = response.json()["message"]
			if answer["gap"]:
				self.resyncs += 1
				self.seq = answer["head"]
			for envelope in answer["events"]:
				if envelope["seq"] > self.seq:
					self.apply(envelope)
					self.replayed += 1
			self.epoch = answer["epoch"]
			if self.seq >= answer["head"]:
				break
		self.apply_pending()

	def apply_pending(self) -> None:
		for seq in sorted(self.pending):
			if seq <= self.seq:
				del self.pending[seq]
			elif seq == self.seq + 1:
				self.apply(self.pending.pop(seq))

	def apply(self, envelope: dict) -> None:
		self.seq = envelope["seq"]
		self.applied.append(envelope["seq"])

	def close(self) -> None:
		self.socket.disconnect()
		self.http.close()


class SocketPages:
	"""Many SocketPages sharing one inbox, so their protocol runs on the test's thread."""

	def __init__(self, front: str, event: str):
		self.front = front
		self.event = event
		self.inbox: queue.Queue = queue.Queue()
		self.pages: list[SocketPage] = []

	def open(self, link: str) -> SocketPage:
		self.pages.append(SocketPage(self.front, link, self.inbox, self.event))
		return self.pages[-1]

	def run_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
		"""Apply what the sockets delivered until `done()`; fail naming `what` after `timeout` seconds."""
		deadline = time.monotonic() + timeout
		while not done():
			remaining = deadline - time.monotonic()
			assert remaining > 0, f"{what}: not reached; pages at {[p.seq for p in self.pages]}"
			try:
				page, kind, payload, at = self.inbox.get(timeout=min(remaining, 0.5))
			except queue.Empty:
				continue
			page.handle(kind, payload, at)

	def close(self) -> None:
		for page in self.pages:
			page.close()
