"""The stack's processes, defined once.

The native launcher starts these argv lists; `docker/compose.yaml` runs the same
commands in containers, and `stack/tests/test_docker_static.py` fails when the two
disagree. Paths are relative to the bench directory so both layouts share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUEUES = "short,default,long"


@dataclass(frozen=True)
class Endpoint:
	host: str
	port: int

	@property
	def address(self) -> str:
		return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Endpoints:
	"""Where each service listens; `bind` is the address servers bind to."""

	bind: str
	mariadb: Endpoint
	redis_cache: Endpoint
	redis_queue: Endpoint
	web: Endpoint
	socketio: tuple[Endpoint, ...]
	front: Endpoint


@dataclass(frozen=True)
class Process:
	"""One long-running service: argv run from `cwd` (relative to the bench)."""

	name: str
	argv: tuple[str, ...]
	cwd: str = "."
	env: dict[str, str] = field(default_factory=dict)
	# ("tcp", "host:port"), ("http", url), ("log", text), or ("lock", a file under the bench held with flock)
	ready: tuple[str, str] = ("tcp", "")
	respawn: bool = False  # start it again when it dies, as bench's supervisord config does


def docker_endpoints() -> Endpoints:
	"""Where `docker/compose.yaml`'s services listen: compose service names on fixed ports."""
	return Endpoints(
		bind="0.0.0.0",
		mariadb=Endpoint("mariadb", 3306),
		redis_cache=Endpoint("redis-cache", 6379),
		redis_queue=Endpoint("redis-queue", 6379),
		web=Endpoint("backend", 8000),
		socketio=(Endpoint("websocket", 9000),),
		front=Endpoint("frontend", 8080),
	)


def frappe_env(site: str, ep: Endpoints) -> dict[str, str]:
	"""Environment that points Frappe's Python and Node sides at this stack's services."""
	return {
		"FRAPPE_SITE": site,
		"FRAPPE_DB_HOST": ep.mariadb.host,
		"FRAPPE_DB_PORT": str(ep.mariadb.port),
		"FRAPPE_REDIS_CACHE": f"redis://{ep.redis_cache.address}",
		"FRAPPE_REDIS_QUEUE": f"redis://{ep.redis_queue.address}",
	}


def redis(name: str, ep: Endpoint, bind: str) -> Process:
	# A cache and a queue for tests and demos: nothing is worth persisting to disk.
	argv = ("redis-server", "--bind", bind, "--port", str(ep.port), "--save", "", "--appendonly", "no")
	return Process(name, argv, ready=("tcp", ep.address))


def web(site: str, ep: Endpoints) -> Process:
	# frappe_docker's production flags: gthread workers, preloaded app, long timeout.
	argv = (
		"env/bin/gunicorn",
		"--chdir=sites",
		f"--bind={ep.bind}:{ep.web.port}",
		"--threads=4",
		"--workers=2",
		"--worker-class=gthread",
		"--worker-tmp-dir=/dev/shm",
		"--timeout=120",
		"--preload",
		"frappe.app:application",
	)
	return Process(
		"web",
		argv,
		env=frappe_env(site, ep),
		ready=("http", f"http://{ep.web.address}/api/method/ping"),
		respawn=True,
	)


def socketio(site: str, ep: Endpoints, index: int) -> Process:
	port = ep.socketio[index].port
	env = {**frappe_env(site, ep), "FRAPPE_SOCKETIO_PORT": str(port)}
	# Frappe's Node server exits whenever its queue Redis connection drops.
	return Process(
		f"socketio-{index}",
		("node", "apps/frappe/socketio.js"),
		env=env,
		ready=("tcp", ep.socketio[index].address),
		respawn=True,
	)


def worker(site: str, ep: Endpoints) -> Process:
	argv = ("../env/bin/python", "-m", "frappe.utils.bench_helper", "frappe", "worker", "--queue", QUEUES)
	return Process(
		"worker", argv, cwd="sites", env=frappe_env(site, ep), ready=("log", "Listening on"), respawn=True
	)


def scheduler(site: str, ep: Endpoints) -> Process:
	# Enqueues the hooks' scheduled jobs (webview_kit prunes expired deep-link sessions hourly).
	argv = ("../env/bin/python", "-m", "frappe.utils.bench_helper", "frappe", "schedule")
	return Process(
		"scheduler",
		argv,
		cwd="sites",
		env=frappe_env(site, ep),
		ready=("lock", "config/scheduler_process"),
		respawn=True,
	)


def frappe_processes(site: str, ep: Endpoints) -> list[Process]:
	"""The Frappe side of the stack: web, every socket.io server, the worker, the scheduler."""
	return [
		web(site, ep),
		*(socketio(site, ep, i) for i in range(len(ep.socketio))),
		worker(site, ep),
		scheduler(site, ep),
	]
