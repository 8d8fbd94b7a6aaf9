"""Start detached processes, wait until they answer, and stop exactly those later.

`make up` returns while the stack keeps running and `make down` runs in another
process, so each child's pid and kernel start time go to a state file; a pid whose
start time changed belongs to someone else and is never signalled. (mirakuru waits
well, but kills its children when the starting interpreter exits.)
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import resource
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import asdict
from pathlib import Path

from .services import Process

# Runs "$@" and starts it again whenever it dies, after 0.25 s doubling to 4 s (back to
# 0.25 s once a run lasted 10 s), like supervisord's autorestart in bench's production
# config. Until `start` sends SIGUSR1 (the program passed its readiness check), an exit is
# a failed start: the wrapper exits with the program's status, so `start` reports it at
# once. SIGTERM reaches the whole process group. A trapped signal interrupts `wait`, hence
# the inner loop.
RESPAWN_SH = r"""
trap 'trap - TERM INT; kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM INT
trap 'started=1' USR1
started=0
delay=250
while :; do
	began=$(date +%s)
	"$@" &
	child=$!
	while :; do
		wait "$child"
		status=$?
		kill -0 "$child" 2>/dev/null || break
	done
	if [ "$started" = 0 ]; then exit "$status"; fi
	ran=$(( $(date +%s) - began ))
	if [ "$ran" -ge 10 ]; then delay=250; fi
	pause=$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))
	echo "respawned: $1 exited with status $status after ${ran}s; starting it again in ${pause}s" >&2
	sleep "$pause"
	delay=$((delay * 2)); if [ "$delay" -gt 4000 ]; then delay=4000; fi
done
"""


RESPAWNED = "respawned: "  # what RESPAWN_SH writes to the log at each restart


def respawning(argv: tuple[str, ...]) -> tuple[str, ...]:
	return ("sh", "-c", RESPAWN_SH, "respawn", *argv)


class StackError(RuntimeError):
	"""A stack step failed; the message names the fix and includes the log tail."""


def raise_fd_limit() -> int:
	"""Raise this process's soft limit on open files to its hard limit; children inherit it.

	A socket server or load generator holding 10,000 sockets needs over 10,000
	descriptors, and many systems start programs with a soft limit of 1,024.
	"""
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	if soft != hard:
		resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
	return hard


def log_tail(path: Path, lines: int = 40) -> str:
	try:
		text = path.read_text(errors="replace").splitlines()
	except FileNotFoundError:
		return "(no log)"
	return "\n".join(text[-lines:])


def _start_time(pid: int) -> str | None:
	try:
		stat = Path(f"/proc/{pid}/stat").read_text()
	except (FileNotFoundError, ProcessLookupError):
		return None
	fields = stat.rsplit(")", 1)[1].split()
	return None if fields[0] == "Z" else fields[19]


def tcp_answers(address: str) -> bool:
	"""Whether something accepts a TCP connection at `address` ("host:port") now."""
	host, port = address.rsplit(":", 1)
	try:
		with socket.create_connection((host, int(port)), timeout=0.5):
			return True
	except OSError:
		return False


def _is_ready(kind: str, target: str, log: Path, site: str | None) -> bool:
	if kind == "tcp":
		return tcp_answers(target)
	if kind == "http":
		# Frappe serves a site by this header; nginx sets it for everyone else.
		headers = {"X-Frappe-Site-Name": site} if site else {}
		try:
			with urllib.request.urlopen(
				urllib.request.Request(target, headers=headers), timeout=2
			) as response:
				return response.status == 200
		except OSError:
			return False
	if kind == "log":
		return log.exists() and target in log.read_text(errors="replace")
	if kind == "lock":
		return lock_is_held(Path(target))
	raise ValueError(kind)


def lock_is_held(path: Path) -> bool:
	"""Whether some process holds an flock on `path` (how Frappe's scheduler says it runs)."""
	try:
		with open(path) as handle:
			fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
	except FileNotFoundError:
		return False
	except BlockingIOError:
		return True
	return False


class Supervisor:
	"""Processes of one stack, recorded in `state_file` under `run_as`."""

	def __init__(self, state_file: Path, logs: Path, bench: Path, run_as: str):
		self.state_file = state_file
		self.logs = logs
		self.bench = bench
		self.run_as = run_as
		self.state = json.loads(state_file.read_text()) if state_file.exists() else {"processes": {}}

	def save(self) -> None:
		self.state_file.parent.mkdir(parents=True, exist_ok=True)
		self.state_file.write_text(json.dumps(self.state, indent=1))

	@property
	def processes(self) -> dict:
		return self.state["processes"]

	def alive(self, name: str) -> bool:
		record = self.processes.get(name)
		return bool(record) and _start_time(record["pid"]) == record["start_time"]

	def restarts(self, name: str) -> int:
		"""How often the respawner has started `name` again (its log begins at each `up`)."""
		log = Path(self.processes[name]["log"])
		return log.read_text(errors="replace").count(RESPAWNED) if log.exists() else 0

	def running(self) -> list[str]:
		return [name for name in self.processes if self.alive(name)]

	def start(self, process: Process, timeout: float = 60) -> None:
		"""Start `process` detached and return once its readiness check passes."""
		if self.alive(process.name):
			raise StackError(f"{process.name} is already running (pid {self.processes[process.name]['pid']})")
		log = self.logs / f"{process.name}.log"
		log.parent.mkdir(parents=True, exist_ok=True)
		user = pwd.getpwnam(self.run_as)
		raise_fd_limit()  # sockets: the socket server holds one per client, nginx two
		env = {
			**os.environ,
			"PATH": f"{self.bench / 'env' / 'bin'}:/usr/sbin:/sbin:{os.environ['PATH']}",
			"HOME": user.pw_dir,
			"LANG": "C.UTF-8",
			**process.env,
		}
		with open(log, "ab") as out:
			popen = subprocess.Popen(
				respawning(process.argv) if process.respawn else process.argv,
				cwd=self.bench / process.cwd,
				env=env,
				stdin=subprocess.DEVNULL,
				stdout=out,
				stderr=subprocess.STDOUT,
				start_new_session=True,
				**self._identity(user),
			)
		self.processes[process.name] = {
			"pid": popen.pid,
			"start_time": _start_time(popen.pid),
			"log": str(log),
			"process": asdict(process),
		}
		self.save()
		self.wait_ready(process, popen, timeout)
		if process.respawn:
			os.kill(popen.pid, signal.SIGUSR1)  # started: restart it from now on

	def _identity(self, user: pwd.struct_passwd) -> dict:
		if os.geteuid() != 0:
			return {}
		return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

	def wait_ready(self, process: Process, popen: subprocess.Popen | None, timeout: float) -> None:
		log = self.logs / f"{process.name}.log"
		kind, target = process.ready
		if kind == "lock":
			target = str(self.bench / target)
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			if _is_ready(kind, target, log, process.env.get("FRAPPE_SITE")):
				return
			if popen is not None and popen.poll() is not None:
				raise StackError(
					f"{process.name} exited with {popen.returncode} while starting.\n"
					f"--- {log} ---\n{log_tail(log)}"
				)
			time.sleep(0.1)
		raise StackError(
			f"{process.name} did not answer {kind} {target} within {timeout:.0f}s.\n--- {log} ---\n{log_tail(log)}"
		)

	def restart(self, name: str, timeout: float = 60) -> None:
		"""Start `name` again with the definition it was last started with."""
		self.start(
			Process(
				**{**self.processes[name]["process"], "argv": tuple(self.processes[name]["process"]["argv"])}
			),
			timeout,
		)

	def stop(self, name: str, timeout: float = 15) -> None:
		"""Stop `name` and its process group; SIGKILL what ignores SIGTERM."""
		record = self.processes.get(name)
		if record and self.alive(name):
			pid = record["pid"]
			self._signal_group(pid, signal.SIGTERM)
			deadline = time.monotonic() + timeout
			while time.monotonic() < deadline and _start_time(pid) == record["start_time"]:
				self._reap(pid)
				time.sleep(0.05)
			self._signal_group(pid, signal.SIGKILL)
			self._reap(pid)
		self.processes.pop(name, None)
		self.save()

	def kill(self, name: str) -> None:
		"""SIGKILL `name` and its respawner at once, as if its machine died; the record stays for `restart`."""
		record = self.processes[name]
		if self.alive(name):
			self._signal_group(record["pid"], signal.SIGKILL)
			while _start_time(record["pid"]) == record["start_time"]:
				self._reap(record["pid"])
				time.sleep(0.01)

	def send_signal(self, name: str, sig: int) -> None:
		"""Send `sig` to `name`'s whole process group (the program and its respawner)."""
		self._signal_group(self.processes[name]["pid"], sig)

	def crash(self, name: str) -> int:
		"""SIGKILL the program `name` runs, leaving its respawner to start it again; return its pid."""
		record = self.processes[name]
		if not record["process"].get("respawn"):
			raise StackError(f"{name} is not respawned: use kill and restart")
		pid = record["pid"]
		children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
		if not children:
			raise StackError(f"{name} is between two runs: nothing to crash")
		os.kill(int(children[0]), signal.SIGKILL)
		return int(children[0])

	def stop_all(self) -> None:
		# Another process (a test that restarted a service) may have recorded newer pids.
		if self.state_file.exists():
			self.state = json.loads(self.state_file.read_text())
		for name in reversed(list(self.processes)):
			self.stop(name)

	@staticmethod
	def _signal_group(pid: int, sig: int) -> None:
		try:
			os.killpg(pid, sig)
		except ProcessLookupError:
			pass

	@staticmethod
	def _reap(pid: int) -> None:
		try:
			os.waitpid(pid, os.WNOHANG)
		except ChildProcessError:
			pass
