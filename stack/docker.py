"""The Docker stack: `docker/compose.yaml` driven through `docker compose`.

`DockerStack` offers callers what the native `Stack` offers (`up`, `down`, `is_up`, `url`,
`site`, site commands, `kill` and `restart` by the native service names), so `make up`,
`make e2e` and the e2e fixture work with either. The containers run the processes that
`stack/services.py` defines, on `docker_endpoints()`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from .demo import DEMO_USER, publisher
from .layout import REPO
from .supervisor import StackError

__all__ = ["COMPOSE_FILE", "DockerStack", "read_dotenv"]

COMPOSE_FILE = REPO / "docker" / "compose.yaml"
DOTENV = REPO / "docker" / ".env"
BENCH = "/home/frappe/frappe-bench"
ENGINE_TIMEOUT = 5
# The native supervisor's names for the compose services, for `kill` and `restart`.
SERVICES = {
	"mariadb": "mariadb",
	"redis-cache": "redis-cache",
	"redis-queue": "redis-queue",
	"web": "backend",
	"socketio-0": "websocket",
	"worker": "worker",
	"nginx": "frontend",
}
# nginx resolves its upstreams' names once, and a restarted container may get a new address.
UPSTREAMS = {"backend", "websocket"}


def read_dotenv(path: Path = DOTENV) -> dict[str, str]:
	"""`KEY=VALUE` lines of a compose `.env` file (no quoting or interpolation: ours needs none)."""
	settings = {}
	for line in path.read_text().splitlines():
		line = line.strip()
		if line and not line.startswith("#"):
			key, _, value = line.partition("=")
			settings[key.strip()] = value.strip()
	return settings


class DockerStack:
	"""The compose project of `docker/compose.yaml`, with the native `Stack`'s surface."""

	logs_hint = "docker compose -f docker/compose.yaml logs"

	def __init__(self):
		# compose itself lets the shell's variables win over docker/.env; so does this.
		dotenv = read_dotenv()
		self._settings = {key: os.environ.get(key) or value for key, value in dotenv.items()}

	# -- whether it can run here ----------------------------------------------
	@staticmethod
	def engine_problem() -> str | None:
		"""Why the Docker stack cannot run on this machine, or None when it can."""
		if shutil.which("docker") is None:
			return "the docker CLI is not installed"
		try:
			info = subprocess.run(
				["docker", "info", "--format", "{{.ServerVersion}}"],
				capture_output=True,
				text=True,
				timeout=ENGINE_TIMEOUT,
			)
		except subprocess.TimeoutExpired:
			return f"no Docker engine answered `docker info` within {ENGINE_TIMEOUT}s"
		if info.returncode != 0:
			reason = (info.stderr.strip().splitlines() or ["no output"])[-1]
			return f"no Docker engine is reachable (`docker info`: {reason})"
		compose = subprocess.run(
			["docker", "compose", "version"], capture_output=True, timeout=ENGINE_TIMEOUT
		)
		if compose.returncode != 0:
			return "the Docker Compose plugin is missing (`docker compose version` failed)"
		return None

	@staticmethod
	def engine_available() -> bool:
		return DockerStack.engine_problem() is None

	def _require_engine(self) -> None:
		if problem := self.engine_problem():
			raise StackError(
				f"The Docker stack cannot run here: {problem}.\n"
				"Start a Docker engine with the compose plugin, or use the native stack: STACK=native "
				"(for example `make e2e STACK=native`)."
			)

	# -- what a caller needs -------------------------------------------------
	@property
	def site(self) -> str:
		return self._settings["WEBVIEW_KIT_SITE"]

	@property
	def url(self) -> str:
		"""The published front, which compose binds to loopback only."""
		return f"http://127.0.0.1:{self._settings['WEBVIEW_KIT_PORT']}"

	def is_up(self) -> bool:
		"""Whether every long-running service has a running container that is not unhealthy."""
		if not self.engine_available():
			return False
		listed = self._compose(["ps", "--all", "--format", "json"], capture=True).stdout
		containers = _parse_ps(listed)
		states: dict[str, list[tuple]] = {}
		for c in containers:  # a scaled service (websocket) lists one container per replica
			states.setdefault(c["Service"], []).append((c.get("State"), c.get("Health") or ""))
		return all(
			states.get(service) and all(state == ("running", "healthy") for state in states[service])
			for service in SERVICES.values()
		)

	def site_command(self, args: list[str], step: str, show: bool = False) -> None:
		"""Run a site command in the backend container; with `show`, its output goes to the terminal."""
		if show:
			done = self._compose(self._exec(args))
			if done.returncode != 0:
				raise StackError(f"{step} failed (exit {done.returncode}); its output is above.")
			return
		self.site_output(args)

	def site_output(self, args: list[str]) -> str:
		"""Run a site command and return what it printed on stdout."""
		done = self._compose(self._exec(args), capture=True)
		if done.returncode != 0:
			raise StackError(
				f"`{' '.join(args)}` failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
			)
		return done.stdout

	def site_process(self, args: list[str], log: Path) -> subprocess.Popen:
		"""Start a site command with a stdin pipe, its output going to `log`."""
		with open(log, "ab") as out:
			return subprocess.Popen(
				self._compose_argv(self._exec(args)),
				cwd=REPO,
				stdin=subprocess.PIPE,
				stdout=out,
				stderr=subprocess.STDOUT,
			)

	def kill(self, name: str) -> None:
		"""SIGKILL service `name` (a native name such as `socketio-0`), as a crash would."""
		self._run_compose(["kill", "--signal", "SIGKILL", self._service(name)], f"kill {name}")

	def restart(self, name: str) -> None:
		"""Start a killed service again and wait until its healthcheck passes."""
		service = self._service(name)
		self._run_compose(["up", "--detach", "--no-deps", "--wait", service], f"restart {name}")
		if service in UPSTREAMS:
			self._run_compose(["exec", "-T", "frontend", "nginx", "-s", "reload"], "nginx reload")

	# -- lifecycle -----------------------------------------------------------
	def up(self) -> None:
		"""Build the images and bring every service up, waiting for the healthchecks."""
		self._require_engine()
		print(
			"Building the images and starting the stack (the first build runs bench init: minutes).",
			flush=True,
		)
		done = self._compose(["up", "--build", "--detach", "--wait", "--wait-timeout", "600"])
		if done.returncode != 0:
			logs = self._compose(["logs", "--no-color", "--tail", "30"], capture=True).stdout
			raise StackError(
				f"`docker compose up` failed (exit {done.returncode}).\n--- last logs ---\n{logs}"
			)

	def down(self) -> None:
		"""Remove the containers; the volumes (site, database) stay for the next `up`."""
		self._require_engine()
		self._run_compose(["down", "--remove-orphans"], "docker compose down")

	def start_demo(self) -> None:
		"""`make up`'s demo in the backend container: the demo user, the count publisher, a link."""
		self.site_command(
			["webview", "ensure-user", "--email", DEMO_USER, "--first-name", "Demo"], "demo-user"
		)
		argv = publisher(self.site, {}, DEMO_USER, 1.0).argv
		self._run_compose(
			["exec", "--detach", "--workdir", f"{BENCH}/sites", "backend", *argv], "demo publisher"
		)
		print(f"\nThe count publisher is running for {DEMO_USER} (one value a second, 0..99, repeating).")
		print("Open this single-use link in a browser or a mobile WebView (valid 10 minutes):\n")
		link = ["webview", "link", "--user", DEMO_USER, "--route", "/webview/count", "--ttl", "600", "--qr"]
		self.site_command(link, "demo-link", show=True)

	# -- compose -------------------------------------------------------------
	def _service(self, name: str) -> str:
		if name not in SERVICES:
			raise StackError(f"No service {name!r} in the Docker stack; it has {', '.join(SERVICES)}.")
		return SERVICES[name]

	def _exec(self, args: list[str]) -> list[str]:
		return ["exec", "-T", "backend", "bench", "--site", self.site, *args]

	def _compose_argv(self, args: list[str]) -> list[str]:
		return ["docker", "compose", "--file", str(COMPOSE_FILE), *args]

	def _compose(self, args: list[str], capture: bool = False) -> subprocess.CompletedProcess:
		return subprocess.run(
			self._compose_argv(args), cwd=REPO, capture_output=capture, text=True, stdin=subprocess.DEVNULL
		)

	def _run_compose(self, args: list[str], step: str) -> None:
		done = self._compose(args, capture=True)
		if done.returncode != 0:
			raise StackError(f"{step} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")


def _parse_ps(listed: str) -> list[dict]:
	"""`docker compose ps --format json`: a JSON array before Compose 2.21, one object a line since."""
	listed = listed.strip()
	if not listed:
		return []
	if listed.startswith("["):
		return json.loads(listed)
	return [json.loads(line) for line in listed.splitlines() if line.strip()]
