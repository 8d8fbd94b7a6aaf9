"""The Swarm stack: `docker/swarm.yaml` deployed with `docker stack deploy` on a one-node swarm.

`SwarmStack` offers what the other stacks offer (`stack.protocol.StackProtocol`), so
`make up STACK=swarm` and `make e2e STACK=swarm` work as they do natively. It takes the
images `docker/compose.yaml` builds, initialises a swarm when the engine is in none (and
leaves that swarm again on `down`; a swarm it found stays), deploys, runs the set-up job to
completion and waits until every service has its replicas running and healthy.

Outages: `kill("socketio-N")` SIGKILLs the N-th `websocket` task's container, as a crash
would; Swarm's restart policy replaces it, and `restart` returns once the service has every
replica running and healthy again. `roll(service)` is a deploy: `docker service update
--force`, one replica at a time (the benchmark measures what pages see of it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shlex
import subprocess
import time
from pathlib import Path

from .demo import DEMO_USER, publisher
from .docker import BENCH, SERVICES, TCP_ESTABLISHED, DockerStack, ensure_secrets, read_dotenv, secrets_dir
from .layout import REPO, Layout
from .services import docker_endpoints
from .supervisor import StackError

__all__ = ["SWARM_FILE", "SwarmStack"]

SWARM_FILE = REPO / "docker" / "swarm.yaml"
SECRETS = ("db-root-password", "admin-password")
SOCKETIO = "websocket"
SOCKETIO_NAME = re.compile(r"socketio-(\d+)")
SETUP = "setup"
# What docker/compose.yaml builds, and the variables docker/swarm.yaml takes other names from.
IMAGES = {
	"WEBVIEW_KIT_IMAGE": "webview_kit-frappe:local",
	"WEBVIEW_KIT_FRONT_IMAGE": "webview_kit-frontend:local",
}
DEPLOY_TIMEOUT = 900
READY_TIMEOUT = 300
# The docker bridge's address: a swarm needs an address that is not loopback to advertise,
# and this one is on no network outside the machine.
ADVERTISE_FALLBACK = "172.17.0.1"


def digest(path: Path) -> str:
	return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


class SwarmStack:
	"""A `docker stack deploy` of `docker/swarm.yaml`, with the native `Stack`'s surface."""

	def __init__(self):
		dotenv = read_dotenv()
		settings = {key: os.environ.get(key) or value for key, value in dotenv.items()}
		self._site = settings["WEBVIEW_KIT_SITE"]
		self._port = settings["WEBVIEW_KIT_PORT"]
		# Not compose's project name: stack volumes are named `<stack>_<volume>` as compose's are,
		# and `down` would drop the compose stack's site and database.
		self.name = os.environ.get("WEBVIEW_KIT_SWARM_STACK") or "webview_kit_swarm"
		self.logs_hint = f"docker service logs {self.name}_<service>"
		self.admin_password_command = f"cat {secrets_dir() / 'admin-password'}"
		self._created_flag = Layout().cache / f"swarm-created-by-{self.name}"

	# -- what a caller needs -------------------------------------------------
	@property
	def site(self) -> str:
		return self._site

	@property
	def url(self) -> str:
		"""The published front (a host-mode port: every address of the node, loopback too)."""
		return f"http://127.0.0.1:{self._port}"

	@property
	def public_url(self) -> str:
		return (os.environ.get("WEBVIEW_KIT_PUBLIC_URL") or self.url).rstrip("/")

	def _env(self) -> dict[str, str]:
		return {
			**os.environ,
			"WEBVIEW_KIT_SITE": self._site,
			"WEBVIEW_KIT_PORT": self._port,
			"WEBVIEW_KIT_PUBLIC_URL": self.public_url,
			"WEBVIEW_KIT_SECRETS": str(secrets_dir()),
			"WEBVIEW_KIT_SWARM_STACK": self.name,
			"FRONT_TEMPLATE_DIGEST": digest(REPO / "stack" / "nginx" / "webview_kit.conf.template"),
			"TRUSTED_PROXIES_DIGEST": digest(REPO / "docker" / "nginx" / "trusted-proxies.envsh"),
			"FOLLOW_UPSTREAMS_DIGEST": digest(REPO / "docker" / "nginx" / "follow-upstreams.sh"),
		}

	# -- lifecycle -----------------------------------------------------------
	def up(self) -> None:
		"""Build the images, join or make a swarm, deploy, run the set-up job, wait for health."""
		DockerStack()._require_engine()
		ensure_secrets(secrets_dir(), SECRETS)
		self._ensure_swarm()
		print("Getting the images (docker/compose.yaml builds them).", flush=True)
		DockerStack()._images()
		images = self._tag_images()
		# A finished job stays finished: remove it so this deploy runs it again (a new image migrates).
		self._docker(["service", "rm", self._service(SETUP)], check=False)
		print(f"Deploying stack {self.name} from {SWARM_FILE.relative_to(REPO)}.", flush=True)
		before = {service: self._snapshot(service) for service in self._long_running()}
		self._docker(
			["stack", "deploy", "--resolve-image", "never", "-c", str(SWARM_FILE), self.name], env=images
		)
		self._wait_job(SETUP)
		for service, snapshot in before.items():
			self._wait_rolled(service, snapshot)
		self._wait_converged(DEPLOY_TIMEOUT)

	def down(self) -> None:
		"""Remove the stack, its volumes, and the swarm when `up` made it."""
		DockerStack()._require_engine()
		self._docker(["stack", "rm", self.name], check=False)
		deadline = time.monotonic() + READY_TIMEOUT
		while self._containers() or self._stack_networks():
			if time.monotonic() > deadline:
				raise StackError(f"stack {self.name} was not gone within {READY_TIMEOUT}s")
			time.sleep(0.5)
		# A finished job's container outlives its service and holds the sites volume.
		if exited := [container["ID"] for container in self._containers(every=True)]:
			self._docker(["rm", "--force", *exited], check=False)
		for volume in ("sites", "mariadb-data"):
			# --force passes over a volume already gone; one still in use fails, naming what holds it.
			self._docker(["volume", "rm", "--force", f"{self.name}_{volume}"])
		if self._created_flag.exists():
			self._docker(["swarm", "leave", "--force"])
			self._created_flag.unlink()

	def _ensure_swarm(self) -> None:
		state = self._docker(["info", "--format", "{{.Swarm.LocalNodeState}}"]).strip()
		if state == "active":
			return
		address = self._bridge_address()
		print(f"No swarm here: making a one-node swarm advertised on {address}.", flush=True)
		self._docker(["swarm", "init", "--advertise-addr", address, "--listen-addr", f"{address}:2377"])
		self._created_flag.parent.mkdir(parents=True, exist_ok=True)
		self._created_flag.write_text("docker swarm init by make up STACK=swarm\n")

	def _bridge_address(self) -> str:
		done = subprocess.run(
			["docker", "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"],
			capture_output=True,
			text=True,
		)
		return done.stdout.strip() or ADVERTISE_FALLBACK

	def is_up(self) -> bool:
		try:
			return all(self._service_ready(service) for service in self._long_running())
		except StackError:
			return False

	def is_running(self) -> bool:
		return bool(self._containers("frontend"))

	def start_demo(self) -> None:
		"""`make up`'s demo in a worker task: the demo user, the count publisher, a link."""
		self.site_command(
			["webview", "ensure-user", "--email", DEMO_USER, "--first-name", "Demo"], "demo-user"
		)
		argv = publisher(self.site, {}, DEMO_USER, 1.0).argv
		worker = self._running("worker")
		self._docker(["exec", "--detach", "--workdir", f"{BENCH}/sites", worker, *argv])
		print(f"\nThe count publisher is running for {DEMO_USER} (one value a second, 0..99, repeating).")
		print("Open this single-use link in a browser or a mobile WebView (valid 10 minutes):\n")
		link = ["webview", "link", "--user", DEMO_USER, "--route", "/webview/count", "--ttl", "600", "--qr"]
		self.site_command(link, "demo-link", show=True)

	# -- site commands ---------------------------------------------------------
	def _exec_argv(self, args: list[str], env: dict | None, site: str | None, service: str) -> list[str]:
		container = self._running(service)
		settings = [option for key, value in (env or {}).items() for option in ("--env", f"{key}={value}")]
		return [
			"docker",
			"exec",
			"-i",
			"--workdir",
			BENCH,
			*settings,
			container,
			"bench",
			"--site",
			site or self.site,
			*args,
		]

	def site_command(self, args: list[str], step: str, show: bool = False, env: dict | None = None) -> None:
		argv = self._exec_argv(args, env, None, "worker")
		done = subprocess.run(argv, capture_output=not show, text=True, stdin=subprocess.DEVNULL)
		if done.returncode != 0:
			output = "its output is above." if show else f"\n{done.stdout}\n{done.stderr}"
			raise StackError(f"{step} failed (exit {done.returncode}); {output}")

	def site_output(self, args: list[str], site: str | None = None) -> str:
		done = subprocess.run(
			self._exec_argv(args, None, site, "worker"),
			capture_output=True,
			text=True,
			stdin=subprocess.DEVNULL,
		)
		if done.returncode != 0:
			raise StackError(
				f"`{' '.join(args)}` failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
			)
		return done.stdout

	def site_process(self, args: list[str], log: Path) -> subprocess.Popen:
		"""A site command in a worker task, where long-running site work runs (a web roll must not end it)."""
		with open(log, "ab") as out:
			return subprocess.Popen(
				self._exec_argv(args, None, None, "worker"),
				stdin=subprocess.PIPE,
				stdout=out,
				stderr=subprocess.STDOUT,
			)

	def helper_process(self, script: Path, log: Path) -> subprocess.Popen:
		"""Run a Python helper script of the harness (`python script site`) in a worker task, as frappe.

		Its stdin and stdout are pipes (the benchmark's agent talks over them), stderr goes to `log`.
		"""
		worker = self._running("worker")
		target = f"/tmp/{script.name}"
		subprocess.run(
			["docker", "exec", "-i", worker, "sh", "-c", f"cat > {target}"],
			input=script.read_bytes(),
			check=True,
		)
		python = f"{BENCH}/env/bin/python"
		with open(log, "ab") as err:
			return subprocess.Popen(
				["docker", "exec", "-i", "--workdir", f"{BENCH}/sites", worker, python, target, self.site],
				stdin=subprocess.PIPE,
				stdout=subprocess.PIPE,
				stderr=err,
			)

	def new_site(self, site: str) -> None:
		"""Create another site with webview_kit alone, in a job that holds the database root secret."""
		argv = ["new-site", site, "--force", f"--admin-password={secrets.token_urlsafe(18)}"]
		argv += ["--mariadb-user-host-login-scope=%", "--install-app=webview_kit"]
		self._root_job(argv, f"new-site {site}")

	def drop_site(self, site: str) -> None:
		self._root_job(["drop-site", site, "--force", "--no-backup"], f"drop-site {site}")

	def _root_job(self, argv: list[str], step: str) -> None:
		"""Run `bench <argv>` as root of the database in a replicated job with the secret, to completion."""
		name = f"{self.name}_job-{secrets.token_hex(4)}"
		script = f'bench {shlex.join(argv)} --db-root-username=root --db-root-password="$(cat /run/secrets/db-root-password)"'
		env = [option for key, value in self._frappe_env().items() for option in ("--env", f"{key}={value}")]
		self._docker(
			[
				"service", "create", "--detach", "--name", name, "--mode", "replicated-job",
				"--restart-condition", "none", "--network", f"{self.name}_data",
				"--secret", f"source={self.name}_db-root-password,target=db-root-password",
				"--mount", f"type=volume,source={self.name}_sites,target={BENCH}/sites",
				"--workdir", BENCH, *env, "--entrypoint", "bash",
				self._image(), "-euc", script,
			]
		)  # fmt: skip
		try:
			self._wait_job(name.removeprefix(f"{self.name}_"), step)
		finally:
			self._docker(["service", "rm", name], check=False)

	def _frappe_env(self) -> dict[str, str]:
		ep = docker_endpoints()
		return {
			"FRAPPE_SITE": self.site,
			"FRAPPE_DB_HOST": ep.mariadb.host,
			"FRAPPE_DB_PORT": str(ep.mariadb.port),
			"FRAPPE_REDIS_CACHE": f"redis://{ep.redis_cache.address}",
			"FRAPPE_REDIS_QUEUE": f"redis://{ep.redis_queue.address}",
		}

	def _image(self) -> str:
		return os.environ.get("WEBVIEW_KIT_IMAGE") or IMAGES["WEBVIEW_KIT_IMAGE"]

	def _tag_images(self) -> dict[str, str]:
		"""The image names to deploy: the ones WEBVIEW_KIT_IMAGE / _FRONT_IMAGE ask for, or each
		built image tagged by its own ID. A service names its image by tag, and a deploy that
		names the same tag changes nothing: rebuilt code would never reach a running stack."""
		names = {}
		for variable, built in IMAGES.items():
			wanted = os.environ.get(variable)
			if not wanted:
				image_id = self._docker(["image", "inspect", "--format", "{{.Id}}", built]).strip()
				wanted = f"{built.rsplit(':', 1)[0]}:{image_id.removeprefix('sha256:')[:12]}"
			if wanted != built:
				self._docker(["tag", built, wanted])
			names[variable] = wanted
		return names

	# -- outages, deploys, scale --------------------------------------------
	def kill(self, name: str) -> None:
		"""SIGKILL the task `name` stands for, as a crash would; Swarm's restart policy replaces it."""
		for container in self._named(name):
			self._docker(["kill", "--signal", "SIGKILL", container])

	def restart(self, name: str) -> None:
		"""Return once the killed task's service has every replica running and healthy again."""
		self._wait_service(self._service_of(name), READY_TIMEOUT)

	def roll(self, service: str, order: str | None = None) -> None:
		"""A deploy of `service`: `docker service update --force`, one replica at a time, until converged."""
		argv = ["service", "update", "--force", "--detach", "--quiet"]
		if order:
			argv += ["--update-order", order]
		before = self._snapshot(service)
		self._docker([*argv, self._service(service)])
		self._wait_rolled(service, before)
		self._wait_service(service, READY_TIMEOUT)

	def freeze(self, name: str) -> None:
		for container in self._named(name):
			self._docker(["pause", container])

	def thaw(self, name: str) -> None:
		for container in self._named(name):
			self._docker(["unpause", container])

	def socket_clients(self) -> dict[str, int]:
		"""Open connections per `websocket` task (`socketio-0`: 3, ...), off each task's TCP table."""
		port = f"{docker_endpoints().socketio[0].port:04X}"
		held = {}
		for index, container in enumerate(self._containers(SOCKETIO)):
			held[f"socketio-{index}"] = 0
			tables = self._docker(
				["exec", container["ID"], "cat", "/proc/net/tcp", "/proc/net/tcp6"], check=False
			)
			for line in tables.splitlines():
				fields = line.split()
				if len(fields) > 3 and fields[1].endswith(f":{port}") and fields[3] == TCP_ESTABLISHED:
					held[f"socketio-{index}"] += 1
		return held

	def scale_socketio(self, count: int) -> None:
		"""Run `count` websocket tasks from now on; the front reaches them all through the service's VIP."""
		self._docker(["service", "scale", "--detach", f"{self._service(SOCKETIO)}={count}"])
		self._wait_service(SOCKETIO, READY_TIMEOUT)

	def access_log(self) -> str:
		return self._docker(
			["service", "logs", "--raw", "--no-trunc", self._service("frontend")], check=False
		)

	def error_log(self) -> str:
		"""`docker service logs` gives both of the front's streams as one: the access log holds it."""
		return self.access_log()

	# -- the engine ------------------------------------------------------------
	def _service(self, service: str) -> str:
		return f"{self.name}_{service}"

	def _service_of(self, name: str) -> str:
		if SOCKETIO_NAME.fullmatch(name):
			return SOCKETIO
		if name not in SERVICES:
			raise StackError(f"No service {name!r} in the Swarm stack; it has {', '.join(SERVICES)}.")
		return SERVICES[name]

	def _long_running(self) -> list[str]:
		return sorted({*SERVICES.values(), SOCKETIO})

	def _containers(self, service: str | None = None, every: bool = False) -> list[dict]:
		"""This node's running containers of the stack (of `service`; with `every`, exited ones too),
		in task-slot order."""
		label = f"com.docker.swarm.service.name={self._service(service)}" if service else None
		argv = ["ps", "--format", "{{json .}}", "--filter", f"label=com.docker.stack.namespace={self.name}"]
		if every:
			argv.append("--all")
		if label:
			argv += ["--filter", f"label={label}"]
		rows = [json.loads(line) for line in self._docker(argv, check=False).splitlines() if line.strip()]
		return sorted(rows, key=lambda row: _slot(row["Names"]))

	def _running(self, service: str) -> str:
		"""A running container of `service`, waiting while Swarm replaces its task (after a crash,
		or a failed health check such as a worker's while the queue Redis was away)."""
		deadline = time.monotonic() + READY_TIMEOUT
		while not (containers := self._containers(service)):
			if time.monotonic() > deadline:
				raise StackError(
					f"The Swarm stack has had no running {service} task for {READY_TIMEOUT}s: is it up?"
				)
			time.sleep(0.5)
		return containers[0]["ID"]

	def _named(self, name: str) -> list[str]:
		service = self._service_of(name)
		containers = self._containers(service)
		if service == SOCKETIO:
			index = int(SOCKETIO_NAME.fullmatch(name).group(1))
			if index >= len(containers):
				raise StackError(f"No {name} in the Swarm stack: {SOCKETIO} has {len(containers)} task(s).")
			containers = [containers[index]]
		if not containers:
			raise StackError(f"The Swarm stack has no running {service} task: is it up?")
		return [c["ID"] for c in containers]

	def _stack_networks(self) -> list[str]:
		listed = self._docker(
			["network", "ls", "--filter", f"label=com.docker.stack.namespace={self.name}", "-q"], check=False
		)
		return listed.split()

	def _desired(self, service: str) -> int:
		spec = json.loads(
			self._docker(["service", "inspect", self._service(service), "--format", "{{json .Spec.Mode}}"])
		)
		return int(spec.get("Replicated", {}).get("Replicas", 1))

	def _service_ready(self, service: str) -> bool:
		"""Every desired replica has a running container whose healthcheck passes, and no other task runs."""
		statuses = [c["Status"] for c in self._containers(service)]
		return len(statuses) == self._desired(service) and all("(healthy)" in s for s in statuses)

	def _wait_service(self, service: str, timeout: float) -> None:
		deadline = time.monotonic() + timeout
		while not self._service_ready(service):
			if time.monotonic() > deadline:
				tasks = self._docker(["service", "ps", "--no-trunc", self._service(service)], check=False)
				raise StackError(f"{service} was not healthy within {timeout:.0f}s:\n{tasks}")
			time.sleep(0.5)

	def _wait_converged(self, timeout: float) -> None:
		for service in self._long_running():
			print(f"  waiting for {service} to be healthy", flush=True)
			self._wait_service(service, timeout)

	def _snapshot(self, service: str) -> dict | None:
		"""The service as the engine has it now (None: no such service yet)."""
		found = self._docker(
			["service", "inspect", self._service(service), "--format", "{{json .}}"], check=False
		)
		return json.loads(found) if found.strip() else None

	def _wait_rolled(self, service: str, before: dict | None) -> None:
		"""Wait until the rolling update that a change of the service's tasks since `before` began has finished.

		Swarm starts the update after the call that changed the spec returns; until then the old
		tasks look healthy and the last update's status still reads "completed". So this waits
		for an update other than the one `before` knew, when the tasks changed at all (a change
		of the replica count alone scales, without one).
		"""
		if before is None:
			return  # a new service: its first tasks, which the health wait covers
		previous = before.get("UpdateStatus") or {}
		deadline = time.monotonic() + DEPLOY_TIMEOUT
		while True:
			info = self._snapshot(service)
			if info is None:
				raise StackError(f"{service} was removed during its update")
			if info["Spec"]["TaskTemplate"] == before["Spec"]["TaskTemplate"]:
				return
			status = info.get("UpdateStatus") or {}
			state = status.get("State")
			if status.get("StartedAt") and status.get("StartedAt") != previous.get("StartedAt"):
				if state == "completed":
					return
				if state in ("paused", "rollback_completed", "rollback_paused"):
					raise StackError(
						f"the update of {service} did not complete ({state}): {status.get('Message')}"
					)
			if time.monotonic() > deadline:
				raise StackError(
					f"the update of {service} had not finished after {DEPLOY_TIMEOUT}s: {status}"
				)
			time.sleep(0.5)

	def _wait_job(self, job: str, step: str = "the set-up job") -> None:
		"""Wait until replicated job `job` completed; fail with its logs if it failed."""
		deadline = time.monotonic() + DEPLOY_TIMEOUT
		print(f"  waiting for {step} ({self._service(job)})", flush=True)
		while True:
			states = self._docker(
				["service", "ps", "--format", "{{.CurrentState}}|{{.Error}}", self._service(job)], check=False
			).splitlines()
			if any(s.startswith("Complete") for s in states):
				return
			failed = [s for s in states if s.startswith(("Failed", "Rejected"))]
			if len(failed) >= 2 or (failed and job != SETUP) or time.monotonic() > deadline:
				logs = self._docker(["service", "logs", "--raw", self._service(job)], check=False)
				raise StackError(f"{step} failed ({'; '.join(states)}):\n{logs[-3000:]}")
			time.sleep(1)

	def _docker(self, args: list[str], check: bool = True, env: dict[str, str] | None = None) -> str:
		done = subprocess.run(
			["docker", *args],
			cwd=REPO,
			env={**self._env(), **(env or {})},
			capture_output=True,
			text=True,
			stdin=subprocess.DEVNULL,
		)
		if check and done.returncode != 0:
			raise StackError(
				f"`docker {' '.join(args[:3])}` failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
			)
		return done.stdout + (done.stderr if args[:2] == ["service", "logs"] else "")


def _slot(name: str) -> int:
	"""A swarm container's task slot, from its name `<stack>_<service>.<slot>.<task id>`."""
	match = re.search(r"\.(\d+)\.[a-z0-9]+$", name)
	return int(match.group(1)) if match else 0
