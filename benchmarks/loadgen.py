"""Node socket.io clients as load (`node/loadgen.js`), driven one JSON line at a time.

A Python socket.io client saturates a core before the server does at 1,000 sockets on
two cores, so the sockets are Node's socket.io-client, the version Frappe v15's server
speaks (pinned in node/package.json).
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

from stack.supervisor import log_tail, raise_fd_limit

from .stats import best_offset

NODE_DIR = Path(__file__).with_name("node")
SCRIPT = NODE_DIR / "loadgen.js"
# Connection settings of each kind of page: webview_kit's realtime.js, Frappe's socketio_client.js.
RECONNECTION = {
	"webview_kit": {"reconnectionDelay": 250, "reconnectionDelayMax": 4000, "timeout": 20000},
	"stock": {"reconnectionAttempts": 3},
}


class LoadGenError(RuntimeError):
	pass


def ensure_node_modules() -> None:
	"""Install the pinned socket.io-client into node/node_modules unless it is there."""
	stamp = NODE_DIR / "node_modules" / ".package-lock.json"
	lock = NODE_DIR / "package-lock.json"
	if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
		return
	if not shutil.which("npm"):
		raise LoadGenError("npm is missing: run `make setup` (it installs Node and npm)")
	print("Installing the load generator's socket.io-client (npm ci in benchmarks/node)", flush=True)
	subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True)


class LoadGen:
	"""`count` sockets of one user (spread over `sids`), each recording event `event`."""

	def __init__(
		self,
		*,
		url: str,
		site: str,
		sids: list[str],
		count: int,
		mode: str,
		event: str,
		room: str,
		log: Path,
		concurrency: int = 20,
		timeout: float = 180,
	):
		config = {
			"url": url,
			"site": site,
			"sids": sids,
			"count": count,
			"mode": mode,
			"event": event,
			"room": room,
			"concurrency": concurrency,
			"reconnection": RECONNECTION[mode],
		}
		self.log = log
		raise_fd_limit()  # one descriptor per socket, and the run's largest size is 10,000
		with open(log, "ab") as err:
			self.process = subprocess.Popen(
				["node", str(SCRIPT), json.dumps(config)],
				cwd=NODE_DIR,
				stdin=subprocess.PIPE,
				stdout=subprocess.PIPE,
				stderr=err,
			)
		self.lines: queue.Queue = queue.Queue()
		threading.Thread(target=self._read, daemon=True).start()
		try:
			self.connected = self._expect("connected", timeout)
		except BaseException:
			# No caller holds this LoadGen yet: stop its sockets here, or they outlive the size.
			self.process.kill()
			self.process.wait()
			raise

	def _read(self) -> None:
		for line in self.process.stdout:
			try:
				self.lines.put(json.loads(line))
			except ValueError as error:
				# Once seen in a multi-megabyte report after a 10,000-socket restart: say so
				# at once rather than leave the caller waiting for an answer that never comes.
				self.lines.put({"type": "unreadable", "error": f"{error} in a {len(line):,}-byte line"})
		self.lines.put(None)

	def _expect(self, kind: str, timeout: float) -> dict:
		deadline = time.monotonic() + timeout
		while True:
			try:
				message = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
			except queue.Empty:
				raise LoadGenError(f"no {kind!r} from the load generator in {timeout:.0f}s")
			if message is None:
				raise LoadGenError(f"the load generator exited:\n{log_tail(self.log)}")
			if message.get("type") == "unreadable":
				raise LoadGenError(f"unreadable answer from the load generator: {message['error']}")
			if message.get("type") == kind:
				return message

	def command(self, cmd: str, timeout: float = 60, **args) -> dict:
		self.process.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
		self.process.stdin.flush()
		return self._expect(cmd, timeout)

	def clock_offset(self) -> dict:
		"""Node's clock minus ours in ms, from the quickest of a few round trips."""
		return best_offset(lambda: self.command("clock")["now"])

	def close(self) -> None:
		if self.process.poll() is None:
			try:
				self.command("quit", timeout=10)
				self.process.wait(10)
			except (LoadGenError, subprocess.TimeoutExpired, BrokenPipeError):
				self.process.kill()
				self.process.wait()
