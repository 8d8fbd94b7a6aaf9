"""A helper process inside the site: `inbench.py` under the bench's Python, as the bench user.

Frappe takes seconds to start, so one process answers many commands; a second one
publishes a stream in the background while the harness drives a browser.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from stack import bench
from stack.supervisor import log_tail

SCRIPT = Path(__file__).with_name("inbench.py")
READY_TIMEOUT = 120


class AgentError(RuntimeError):
	"""The in-site helper failed; the message carries its traceback or log tail."""


class Agent:
	"""One `inbench.py` process; `call` a command and get its answer."""

	def __init__(self, stack, log: Path):
		self.log = log
		self.pool = ThreadPoolExecutor(max_workers=1)
		if hasattr(stack, "helper_process"):  # a swarm: the helper runs in a worker task
			self.process = stack.helper_process(SCRIPT, log)
			self._answer(time.monotonic() + READY_TIMEOUT)
			return
		layout = stack.layout
		# The bench user may not read this checkout; it can read its own run folder.
		script = layout.run / f"benchmarks-{log.stem}.py"
		script.write_text(SCRIPT.read_text())
		script.chmod(0o644)
		popen_args = {**bench._as_user(layout, stack.env), "stdin": subprocess.PIPE}
		with open(log, "ab") as err:
			self.process = subprocess.Popen(
				[str(layout.bench / "env" / "bin" / "python"), str(script), stack.site],
				cwd=layout.sites,
				stdout=subprocess.PIPE,
				stderr=err,
				**popen_args,
			)
		self._answer(time.monotonic() + READY_TIMEOUT)

	def _answer(self, deadline: float | None = None):
		# Frappe may print on stdout: only `@@ ` lines are answers, the rest goes to the log.
		while True:
			line = self.process.stdout.readline().decode(errors="replace")
			if not line:
				raise AgentError(f"the in-site helper exited ({self.process.poll()}):\n{log_tail(self.log)}")
			if line.startswith("@@ "):
				payload = json.loads(line[3:])
				if "error" in payload:
					raise AgentError(payload["error"])
				return payload["ok"]
			with open(self.log, "a") as out:
				out.write(line)
			if deadline and time.monotonic() > deadline:
				raise AgentError(f"the in-site helper did not start:\n{log_tail(self.log)}")

	def _send(self, line: str) -> None:
		self.process.stdin.write(line.encode() + b"\n")
		self.process.stdin.flush()

	def call(self, cmd: str, **args):
		self._send(json.dumps({"cmd": cmd, "args": args}))
		return self._answer()

	def start(self, cmd: str, **args) -> Future:
		"""Run `cmd` in the background; the Future holds its answer."""
		self._send(json.dumps({"cmd": cmd, "args": args}))
		return self.pool.submit(self._answer)

	def stop_stream(self, running: Future, timeout: float = 30):
		"""End a `stream` started with `start` and return what it published."""
		self._send("stop")
		return running.result(timeout)

	def close(self) -> None:
		if self.process.poll() is None:
			self.process.stdin.close()
			try:
				self.process.wait(15)
			except subprocess.TimeoutExpired:
				self.process.kill()
				self.process.wait()
		self.pool.shutdown(wait=False)


def cpu_seconds(pid: int) -> float:
	"""User plus system CPU time of process `pid` so far."""
	fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
	return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
