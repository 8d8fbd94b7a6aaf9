"""The Docker stack: `docker/compose.yaml` driven through `docker compose`.

`DockerStack` offers what the native `Stack` offers (`stack.protocol.StackProtocol`: `up`,
`down`, `url`, site commands, `kill` and `restart` by the native service names, the socket
servers' clients and their scale), so `make up`, `make e2e` and the e2e fixtures work with
either. The containers run the processes that `stack/services.py` defines, on
`docker_endpoints()`; `socketio-N` is the N-th replica of the `websocket` service.
"""

from __future__ import annotations

import collections
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .demo import DEMO_USER, publisher
from .layout import REPO, Layout
from .services import docker_endpoints
from .supervisor import StackError

__all__ = ["COMPOSE_FILE", "DockerStack", "compose_logs", "read_dotenv"]

COMPOSE_FILE = REPO / "docker" / "compose.yaml"
DOTENV = REPO / "docker" / ".env"
BENCH = "/home/frappe/frappe-bench"
# docker/compose.yaml's secrets: files generated once, outside the repo and every image.
SECRETS = ("db-root-password",)
ENGINE_TIMEOUT = 5
READY_TIMEOUT = 120
NATIVE_FALLBACK = (
	"to run without Docker, use the native stack: STACK=native (for example `make up STACK=native`)"
)
# The native supervisor's names for the compose services, for `kill` and `restart`;
# socketio-1, socketio-2, ... name the further replicas of `websocket` when it is scaled.
SERVICES = {
	"mariadb": "mariadb",
	"redis-cache": "redis-cache",
	"redis-queue": "redis-queue",
	"web": "backend",
	"socketio-0": "websocket",
	"worker": "worker",
	"scheduler": "scheduler",
	"nginx": "frontend",
}
SOCKETIO = "websocket"
SOCKETIO_NAME = re.compile(r"socketio-(\d+)")
# The front reloads nginx itself when these move (docker/nginx/follow-upstreams.sh); a
# restart here reloads it at once as well, so that it returns with the front up to date.
UPSTREAMS = {"backend", SOCKETIO}
TCP_ESTABLISHED = "01"


def secrets_dir() -> Path:
	"""Where the Docker stack's secret files live: WEBVIEW_KIT_SECRETS, else the cache."""
	return Path(os.environ.get("WEBVIEW_KIT_SECRETS") or Layout().cache / "docker-secrets")


def ensure_secrets(folder: Path, names: tuple[str, ...] = SECRETS) -> None:
	"""Generate each secret that is missing, in a folder only its owner may open.

	Compose bind-mounts a file secret as it is, and the containers read it as their own users
	(mysql, frappe), so the file itself is world-readable; the folder keeps other users out.
	"""
	folder.mkdir(mode=0o700, parents=True, exist_ok=True)
	folder.chmod(0o700)
	for name in names:
		path = folder / name
		if not path.exists() or not path.read_text().strip():
			path.write_text(secrets.token_urlsafe(24) + "\n")
		path.chmod(0o644)


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
	# create-site generates it once per sites volume.
	admin_password_command = "docker compose -f docker/compose.yaml exec backend cat sites/.admin-password"

	def __init__(self):
		# compose itself lets the shell's variables win over docker/.env; so does this.
		dotenv = read_dotenv()
		self._settings = {key: os.environ.get(key) or value for key, value in dotenv.items()}
		# Every compose command interpolates the secrets' folder; the children inherit it.
		os.environ["WEBVIEW_KIT_SECRETS"] = str(secrets_dir())

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
		states: dict[str, list[tuple]] = {}
		for c in self._containers():  # a scaled service (websocket) lists one container per replica
			states.setdefault(c["Service"], []).append((c.get("State"), c.get("Health") or ""))
		return all(
			states.get(service) and all(state == ("running", "healthy") for state in states[service])
			for service in self._long_running()
		)

	def is_running(self) -> bool:
		"""Whether the stack's front is running, even with another service down."""
		if not self.engine_available():
			return False
		return any(c.get("State") == "running" for c in self._containers("frontend"))

	def site_command(self, args: list[str], step: str, show: bool = False, env: dict | None = None) -> None:
		"""Run a site command in the backend container, with `env` added to its environment;
		with `show`, its output goes to the terminal."""
		argv = self._exec(args, env)
		done = self._compose(argv) if show else self._compose(argv, capture=True)
		if done.returncode != 0:
			output = "its output is above." if show else f"\n{done.stdout}\n{done.stderr}"
			raise StackError(f"{step} failed (exit {done.returncode}); {output}")

	def site_output(self, args: list[str], site: str | None = None) -> str:
		"""Run a site command (of `site`, default the stack's) and return what it printed on stdout."""
		done = self._compose(self._exec(args, site=site), capture=True)
		if done.returncode != 0:
			raise StackError(
				f"`{' '.join(args)}` failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
			)
		return done.stdout

	def site_process(self, args: list[str], log: Path) -> subprocess.Popen:
		"""Start a site command with a stdin pipe, its output going to `log`.

		It runs in the worker's container, where a server's own long-running work runs: an
		outage of the web server (`kill("web")`, the backend container) must not end it, as
		natively it is a process of its own.
		"""
		with open(log, "ab") as out:
			return subprocess.Popen(
				self._compose_argv(self._exec(args, service="worker")),
				cwd=REPO,
				stdin=subprocess.PIPE,
				stdout=out,
				stderr=subprocess.STDOUT,
			)

	def kill(self, name: str) -> None:
		"""SIGKILL service `name` (a native name such as `socketio-0`), as a crash would.

		A killed container counts as stopped by hand: its restart policy leaves it down until
		`restart`, as the native `kill` leaves a process down.
		"""
		for container in self._named(name):
			self._run(["docker", "kill", "--signal", "SIGKILL", container], f"kill {name}")

	def restart(self, name: str) -> None:
		"""Start a killed service again and return once its healthcheck passes."""
		containers = self._named(name)
		for container in containers:
			self._run(["docker", "start", container], f"restart {name}")
		for container in containers:
			self._wait_healthy(container, name)
		if self._service(name) in UPSTREAMS:
			self._reload_front()

	def _reload_front(self) -> None:
		"""Point the front at the restarted service's address now, not at the follower's next look."""
		self._run_compose(
			["exec", "-T", "frontend", "sh", "/docker-entrypoint.d/40-follow-upstreams.sh", "now"],
			"front reload",
		)

	def freeze(self, name: str) -> None:
		"""Pause service `name`'s containers (the cgroup freezer): connections stay, nothing answers."""
		for container in self._named(name):
			self._run(["docker", "pause", container], f"freeze {name}")

	def thaw(self, name: str) -> None:
		for container in self._named(name):
			self._run(["docker", "unpause", container], f"thaw {name}")

	def socket_clients(self) -> dict[str, int]:
		"""Open connections per socket.io server (`socketio-0`: 3, ...): one per page socket.

		Read off each replica's own TCP table, as the native stack reads the machine's.
		"""
		port = f"{docker_endpoints().socketio[0].port:04X}"
		held = {}
		for index, container in enumerate(self._replicas()):
			held[f"socketio-{index}"] = 0
			if container.get("State") != "running":
				continue
			tables = self._run(
				["docker", "exec", container["Name"], "cat", "/proc/net/tcp", "/proc/net/tcp6"],
				"socket count",
			)
			for line in tables.splitlines():
				fields = line.split()
				if len(fields) > 3 and fields[1].endswith(f":{port}") and fields[3] == TCP_ESTABLISHED:
					held[f"socketio-{index}"] += 1
		return held

	def access_log(self) -> str:
		"""The front's access log: nginx writes it to the container's stdout."""
		return self._front_output().stdout

	def error_log(self) -> str:
		"""The front's error log: nginx writes it to the container's stderr."""
		return self._front_output().stderr

	def _front_output(self) -> subprocess.CompletedProcess:
		return self._compose(["logs", "--no-color", "--no-log-prefix", "frontend"], capture=True)

	def scale_socketio(self, count: int) -> None:
		"""Run `count` websocket replicas from now on, then recreate the front with them as its upstream.

		The front is recreated rather than reloaded so that, once this returns, every new
		connection goes to exactly the new set; connections open through it are dropped.
		"""
		self._run_compose(
			["up", "--detach", "--no-deps", "--wait", "--scale", f"{SOCKETIO}={count}", SOCKETIO],
			f"scale {SOCKETIO} to {count}",
		)
		self._run_compose(
			["up", "--detach", "--no-deps", "--wait", "--force-recreate", "frontend"], "recreate the front"
		)

	# -- lifecycle -----------------------------------------------------------
	def up(self) -> None:
		"""Get the images (pull what is missing, build ours), then start every service and wait for health."""
		self._require_engine()
		print(
			"Getting the images and starting the stack (the first build runs bench init: minutes).",
			flush=True,
		)
		ensure_secrets(secrets_dir())
		self._images()
		done = self._compose(["up", "--detach", "--wait", "--wait-timeout", "600"])
		if done.returncode != 0:
			raise StackError(
				f"`docker compose up` failed (exit {done.returncode}).\n--- last logs ---\n{compose_logs(30)}"
			)

	def down(self) -> None:
		"""Remove the containers, their anonymous volumes and the network.

		The named volumes (the site and its database) stay for the next `up`; `docker compose
		-f docker/compose.yaml down -v` drops them too.
		"""
		self._require_engine()
		self._run_compose(["rm", "--stop", "--force", "--volumes"], "docker compose rm")
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
	def _images(self) -> None:
		"""Pull the service images that are missing and build ours; fail in one line naming STACK=native."""
		steps = [(["pull", "--ignore-buildable", "--policy", "missing"], "pulled"), (["build"], "built")]
		for args, done in steps:
			code, last = self._stream(args)
			if code != 0:
				raise StackError(
					f"The Docker images could not be {done} (`docker compose {args[0]}` exit {code}: "
					f"{last or 'no output'}); {NATIVE_FALLBACK}."
				)

	def _stream(self, args: list[str]) -> tuple[int, str]:
		"""Run compose with its output passed through; return its exit status and last line."""
		with subprocess.Popen(
			self._compose_argv(args),
			cwd=REPO,
			stdin=subprocess.DEVNULL,
			stdout=subprocess.PIPE,
			stderr=subprocess.STDOUT,
			text=True,
			errors="replace",
		) as process:
			tail = collections.deque(maxlen=1)
			for line in process.stdout:
				sys.stdout.write(line)
				if line.strip():
					tail.append(line.strip())
		sys.stdout.flush()
		return process.returncode, (tail[0] if tail else "")

	def _service(self, name: str) -> str:
		if SOCKETIO_NAME.fullmatch(name):
			return SOCKETIO
		if name not in SERVICES:
			raise StackError(f"No service {name!r} in the Docker stack; it has {', '.join(SERVICES)}.")
		return SERVICES[name]

	def _long_running(self) -> set[str]:
		return {*SERVICES.values(), SOCKETIO}

	def _containers(self, service: str | None = None) -> list[dict]:
		"""`docker compose ps --all` rows, each replica's in replica order."""
		listed = self._compose(
			["ps", "--all", "--format", "json", *([service] if service else [])], capture=True
		)
		return sorted(_parse_ps(listed.stdout), key=lambda c: (c["Service"], _replica_number(c)))

	def _replicas(self) -> list[dict]:
		return self._containers(SOCKETIO)

	def _named(self, name: str) -> list[str]:
		"""The containers a native service name stands for."""
		service = self._service(name)
		if service != SOCKETIO:
			containers = self._containers(service)
		else:
			index = int(SOCKETIO_NAME.fullmatch(name).group(1))
			replicas = self._replicas()
			if index >= len(replicas):
				raise StackError(f"No {name} in the Docker stack: {SOCKETIO} has {len(replicas)} replica(s).")
			containers = [replicas[index]]
		if not containers:
			raise StackError(f"The Docker stack has no {service} container: is it up?")
		return [c["Name"] for c in containers]

	def _wait_healthy(self, container: str, name: str) -> None:
		"""Run the container's own healthcheck until it passes, rather than wait for Docker's next interval."""
		check = json.loads(
			self._run(["docker", "inspect", "--format", "{{json .Config.Healthcheck}}", container], "inspect")
		)
		test = (check or {}).get("Test") or ["NONE"]
		probe = (
			["sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:] if test[0] == "CMD" else ["true"]
		)
		deadline = time.monotonic() + READY_TIMEOUT
		while True:
			done = subprocess.run(
				["docker", "exec", container, *probe],
				capture_output=True,
				text=True,
				stdin=subprocess.DEVNULL,
			)
			if done.returncode == 0:
				return
			if time.monotonic() > deadline:
				raise StackError(
					f"{name} ({container}) did not pass its healthcheck within {READY_TIMEOUT}s:\n"
					f"{done.stdout}{done.stderr}"
				)
			time.sleep(0.25)

	def _exec(
		self, args: list[str], env: dict | None = None, site: str | None = None, service: str = "backend"
	) -> list[str]:
		settings = [option for key, value in (env or {}).items() for option in ("--env", f"{key}={value}")]
		if service != "backend":  # the others start in sites/; bench runs from the bench
			settings += ["--workdir", BENCH]
		return ["exec", "-T", *settings, service, "bench", "--site", site or self.site, *args]

	def new_site(self, site: str) -> None:
		"""Create another site with webview_kit alone installed (no demo), in a create-site job."""
		argv = ["new-site", site, "--force", f"--admin-password={secrets.token_urlsafe(18)}"]
		argv += ["--mariadb-user-host-login-scope=%", "--install-app=webview_kit"]
		self._as_database_root(argv, f"new-site {site}")

	def drop_site(self, site: str) -> None:
		self._as_database_root(["drop-site", site, "--force", "--no-backup"], f"drop-site {site}")

	def _as_database_root(self, argv: list[str], step: str) -> None:
		"""Run `bench <argv>` with the database root password, in the one container holding its secret."""
		command = f'bench {shlex.join(argv)} --db-root-username=root --db-root-password="$(cat "$DB_ROOT_PASSWORD_FILE")"'
		self._run_compose(["run", "--rm", "--no-deps", "-T", "create-site", command], step)

	def _compose_argv(self, args: list[str]) -> list[str]:
		return ["docker", "compose", "--file", str(COMPOSE_FILE), *args]

	def _compose(self, args: list[str], capture: bool = False) -> subprocess.CompletedProcess:
		return subprocess.run(
			self._compose_argv(args), cwd=REPO, capture_output=capture, text=True, stdin=subprocess.DEVNULL
		)

	def _run_compose(self, args: list[str], step: str) -> None:
		self._run(self._compose_argv(args), step)

	@staticmethod
	def _run(argv: list[str], step: str) -> str:
		done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL)
		if done.returncode != 0:
			raise StackError(f"{step} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
		return done.stdout


def compose_logs(lines: int = 40) -> str:
	"""The last `lines` of every service's output, for a failure report."""
	done = subprocess.run(
		["docker", "compose", "--file", str(COMPOSE_FILE), "logs", "--no-color", "--tail", str(lines)],
		cwd=REPO,
		capture_output=True,
		text=True,
		errors="replace",
		stdin=subprocess.DEVNULL,
	)
	return done.stdout + done.stderr


def _parse_ps(listed: str) -> list[dict]:
	"""`docker compose ps --format json`: a JSON array before Compose 2.21, one object a line since."""
	listed = listed.strip()
	if not listed:
		return []
	if listed.startswith("["):
		return json.loads(listed)
	return [json.loads(line) for line in listed.splitlines() if line.strip()]


def _replica_number(container: dict) -> int:
	"""A container's replica number, from compose's label (or the `-N` its name ends with)."""
	labels = container.get("Labels") or ""
	if match := re.search(r"com\.docker\.compose\.container-number=(\d+)", labels):
		return int(match.group(1))
	match = re.search(r"-(\d+)$", container.get("Name", ""))
	return int(match.group(1)) if match else 0
