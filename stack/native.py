"""The native stack: private MariaDB and Redis, gunicorn, socket.io, worker and nginx.

`Stack.up()` builds what is missing (bench, site, assets), picks free loopback ports,
starts every process with a readiness deadline and records them, so `Stack.down()`,
a later `make down` or the e2e fixture stops exactly what was started.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import resource
import shutil
import signal
import string
import subprocess
from contextlib import contextmanager
from pathlib import Path

import port_for

from . import bench
from .layout import REPO, Layout
from .services import Endpoint, Endpoints, Process, frappe_env, frappe_processes, redis, socketio
from .supervisor import StackError, Supervisor

NGINX_TEMPLATE = REPO / "stack" / "nginx" / "webview_kit.conf.template"
# A proxied socket holds two of a worker's connections (the client's and the upstream's),
# and each connection is a file descriptor, which the per-process hard limit caps (nginx
# runs as the bench user, so it cannot raise it). One worker of 8,192 connections held
# about 4,000 sockets; 10,000 need two or more workers, each with its own descriptors.
# nginx stops a worker accepting when 7/8 of its connections are in use, so a busy
# worker leaves new sockets to the others. `accept_mutex` makes the workers take turns
# accepting: without it, after a socket-server restart both forwarded the reconnect storm
# at once, overflowing the socket server's listen queue (Node's 511), and 1,000 sockets
# took 30 to 36 s to come back instead of 7 to 12 s (one worker: 5 to 10 s).
NGINX_MIN_WORKERS = 2
NGINX_MAX_CONNECTIONS = 16384
NGINX_SPARE_FDS = 256  # logs, listening sockets, temporary files
NGINX_MAIN = """\
worker_processes {workers};
worker_rlimit_nofile {nofile};
pid {run}/nginx.pid;
daemon off;
events {{ worker_connections {connections}; accept_mutex on; }}
http {{
	include /etc/nginx/mime.types;
	# The server's own access_log (the template) keeps deep-link tokens out of the log.
	access_log off;
	client_body_temp_path {run}/nginx/body;
	proxy_temp_path {run}/nginx/proxy;
	fastcgi_temp_path {run}/nginx/fastcgi;
	uwsgi_temp_path {run}/nginx/uwsgi;
	scgi_temp_path {run}/nginx/scgi;
	include {run}/webview_kit.conf;
}}
"""
MARIADB_READY = ".webview_kit-initialized"
LOOPBACK = "127.0.0.1"
TCP_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
TCP_ESTABLISHED = "01"


ALL_ADDRESSES = ("0.0.0.0",)


def machine_address(addresses: list[dict], routes: list[dict]) -> str | None:
	"""The machine's own IPv4 address for a phone: the default route's interface first.

	`addresses` and `routes` are what `ip -j -4 addr show scope global` and
	`ip -j route show default` print; container bridges come last.
	"""
	default_devices = [route.get("dev") for route in routes]

	def rank(interface: dict) -> tuple[int, int]:
		name = interface.get("ifname", "")
		bridge = name.startswith(("docker", "br-", "veth"))
		return (0 if name in default_devices else 1, 1 if bridge else 0)

	for interface in sorted(addresses, key=rank):
		for info in interface.get("addr_info", []):
			if info.get("family") == "inet" and info.get("scope") == "global":
				return info["local"]
	return None


def _ip_json(*args: str) -> list[dict]:
	done = subprocess.run(["ip", "-j", *args], capture_output=True, text=True)
	return json.loads(done.stdout or "[]") if done.returncode == 0 else []


def free_ports(count: int) -> list[int]:
	ports: set[int] = set()
	while len(ports) < count:
		ports.add(port_for.select_random())
	return sorted(ports)


def nginx_limits(hard_nofile: int | None = None, cpus: int | None = None) -> dict[str, int]:
	"""Workers, descriptors and connections per worker for the front, within the fd hard limit."""
	if hard_nofile is None:
		hard_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
	if hard_nofile == resource.RLIM_INFINITY:
		hard_nofile = NGINX_MAX_CONNECTIONS + NGINX_SPARE_FDS
	nofile = min(hard_nofile, NGINX_MAX_CONNECTIONS + NGINX_SPARE_FDS)
	return {
		"workers": max(NGINX_MIN_WORKERS, cpus or os.cpu_count() or 1),
		"nofile": nofile,
		"connections": nofile - min(NGINX_SPARE_FDS, nofile // 4),
	}


def trusted_proxy_entries(proxies: str) -> str:
	"""The front's geo lines for WEBVIEW_KIT_TRUSTED_PROXIES: addresses or networks, space or comma separated."""
	entries = []
	for proxy in proxies.replace(",", " ").split():
		try:
			ipaddress.ip_network(proxy, strict=False)
		except ValueError:
			raise StackError(
				f"WEBVIEW_KIT_TRUSTED_PROXIES: {proxy!r} is not an address or network (for example 10.0.0.5 or 10.0.0.0/8)"
			) from None
		entries.append(f"{proxy} 1;")
	return " ".join(entries)


def render_nginx(
	ep: Endpoints, site: str, sites_path: Path, access_log: str, trusted_proxies: str = ""
) -> str:
	servers = " ".join(f"server {s.address};" for s in ep.socketio)
	return string.Template(NGINX_TEMPLATE.read_text()).safe_substitute(
		WEB_UPSTREAM=ep.web.address,
		SOCKETIO_UPSTREAM_SERVERS=servers,
		FRONT_LISTEN=ep.front.address,
		SITE_NAME=site,
		SITES_PATH=str(sites_path),
		ACCESS_LOG=access_log,
		FRONT_SELF="$server_addr:$server_port",
		TRUSTED_PROXY_ENTRIES=trusted_proxy_entries(trusted_proxies),
	)


class Stack:
	"""One running (or stopped) native stack over the cached bench."""

	def __init__(self, layout: Layout | None = None):
		self.layout = layout or Layout()
		self.supervisor = Supervisor(
			self.layout.state_file, self.layout.logs, self.layout.bench, self.layout.bench_user
		)

	# -- what a caller needs -------------------------------------------------
	@property
	def endpoints(self) -> Endpoints:
		saved = self.supervisor.state["endpoints"]
		point = lambda d: Endpoint(**d)  # noqa: E731
		return Endpoints(
			bind=saved["bind"],
			mariadb=point(saved["mariadb"]),
			redis_cache=point(saved["redis_cache"]),
			redis_queue=point(saved["redis_queue"]),
			web=point(saved["web"]),
			socketio=tuple(point(s) for s in saved["socketio"]),
			front=point(saved["front"]),
		)

	@property
	def url(self) -> str:
		"""The front as this machine reaches it (loopback when it listens on every address)."""
		front = self.endpoints.front
		host = LOOPBACK if front.host in ALL_ADDRESSES else front.host
		return f"http://{Endpoint(host, front.port).address}"

	@property
	def public_url(self) -> str:
		"""The front as a phone reaches it: PUBLIC_URL, else this machine's own address under HOST=0.0.0.0."""
		if self.layout.public_url:
			return self.layout.public_url
		front = self.endpoints.front
		if front.host not in ALL_ADDRESSES:
			return self.url
		address = machine_address(
			_ip_json("-4", "addr", "show", "scope", "global"), _ip_json("route", "show", "default")
		)
		if address is None:
			raise StackError("HOST=0.0.0.0, but this machine has no network address: set PUBLIC_URL=http://…")
		return f"http://{address}:{front.port}"

	@property
	def env(self) -> dict[str, str]:
		return frappe_env(self.layout.site, self.endpoints)

	@property
	def site(self) -> str:
		return self.layout.site

	def kill(self, name: str) -> None:
		"""Kill service `name` (for example `socketio-0`) at once, as a crash would."""
		self.supervisor.kill(name)

	def restart(self, name: str) -> None:
		"""Start a killed service again with its recorded definition."""
		self.supervisor.restart(name)

	def freeze(self, name: str) -> None:
		"""SIGSTOP service `name` and its respawner: its sockets stay open, nothing answers."""
		self.supervisor.send_signal(name, signal.SIGSTOP)

	def thaw(self, name: str) -> None:
		self.supervisor.send_signal(name, signal.SIGCONT)

	def socket_clients(self) -> dict[str, int]:
		"""Open connections per socket.io server (`socketio-0`: 3, ...): one per page socket.

		Read off the kernel's TCP table, so it needs nothing from Frappe's socket server,
		which keeps no count of its own.
		"""
		names = {ep.port: f"socketio-{i}" for i, ep in enumerate(self.endpoints.socketio)}
		held = dict.fromkeys(names.values(), 0)
		for table in TCP_TABLES:
			for line in table.read_text().splitlines()[1:]:
				local, _remote, state = line.split()[1:4]
				port = int(local.rsplit(":", 1)[1], 16)
				if state == TCP_ESTABLISHED and port in names:
					held[names[port]] += 1
		return held

	def access_log(self) -> str:
		"""The front's access log of this run."""
		return self._log("nginx-access.log")

	def error_log(self) -> str:
		"""The front's error log of this run."""
		return self._log("nginx-error.log")

	def _log(self, name: str) -> str:
		log = self.layout.logs / name
		return log.read_text(errors="replace") if log.exists() else ""

	def is_up(self) -> bool:
		"""Whether every recorded process is alive."""
		names = self.supervisor.running()
		return bool(names) and set(names) >= set(self.supervisor.processes)

	def is_running(self) -> bool:
		"""Whether a stack is running here at all, even with a service down."""
		return self.supervisor.alive("nginx")

	def site_command(self, args: list[str], step: str, show: bool = False, env: dict | None = None) -> None:
		bench.site_command(self.layout, args, step, {**self.env, **(env or {})}, show)

	def site_output(self, args: list[str], site: str | None = None) -> str:
		"""Run a site command (of `site`, default the stack's) and return what it printed on stdout."""
		return bench.site_output(self.layout, args, {**self.env, "FRAPPE_SITE": site or self.site}, site)

	def new_site(self, site: str) -> None:
		"""Create another site with webview_kit alone installed (no demo)."""
		bench.new_site(self.layout, self.env, site, f"new-site-{site}")

	def drop_site(self, site: str) -> None:
		bench.drop_site(self.layout, self.env, site, f"drop-site-{site}")

	def site_process(self, args: list[str], log: Path) -> subprocess.Popen:
		"""Start a site command with a stdin pipe, its output going to `log`."""
		return bench.site_process(self.layout, args, self.env, log)

	# -- lifecycle -----------------------------------------------------------
	@contextmanager
	def _locked(self):
		bench.as_bench_user(self.layout, self.layout.cache)
		with open(self.layout.cache / "stack.lock", "w") as lock:
			try:
				fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
			except BlockingIOError:
				raise StackError(
					f"Another `make up`, `make down` or test run is using {self.layout.cache}. "
					"Wait for it, or give this checkout its own cache with WEBVIEW_KIT_CACHE=/some/dir."
				)
			yield

	def up(self) -> None:
		"""Bring the whole stack up, building the bench and site first if needed."""
		layout = self.layout
		bench.as_bench_user(layout, layout.cache)
		with self._locked():
			bench.ensure_bench(layout)
			if self.supervisor.running():
				print("A stack from an earlier run is still running: stopping it first.", flush=True)
				self.supervisor.stop_all()
			self._clear_run_dir()
			self._choose_endpoints()
			try:
				self._start_data_services()
				changes = bench.sync_app(layout)
				bench.ensure_site(layout, self.env, changes.code)
				if changes.assets:
					bench.build_assets(layout, self.env)
				self._set_host_name()
				for process in frappe_processes(layout.site, self.endpoints):
					self.supervisor.start(process, timeout=90)
				self._start_nginx()
			except BaseException:
				self.supervisor.stop_all()
				# Whatever failed (a migrate, say) must be retried by the next `up`.
				(layout.bench / ".webview_kit-code").unlink(missing_ok=True)
				raise

	def down(self) -> None:
		with self._locked():
			self.supervisor.stop_all()

	def scale_socketio(self, count: int) -> None:
		"""Run `count` socket.io servers from now on, then restart the front with them as its upstream.

		The front is restarted rather than reloaded so that, once this returns, every new
		connection goes to exactly the new set; connections open through it are dropped.
		"""
		with self._locked():
			saved = self.supervisor.state["endpoints"]["socketio"]
			current = len(saved)
			saved += [{"host": LOOPBACK, "port": port} for port in free_ports(max(count - current, 0))]
			for index in range(count, current):
				self.supervisor.stop(f"socketio-{index}")
			del saved[count:]
			self.supervisor.save()
			for index in range(current, count):
				self.supervisor.start(socketio(self.site, self.endpoints, index), timeout=90)
			self.supervisor.stop("nginx")
			self._start_nginx()

	# -- steps ---------------------------------------------------------------
	def _clear_run_dir(self) -> None:
		logs = self.layout.logs
		if logs.exists():
			shutil.rmtree(logs)
		bench.as_bench_user(self.layout, logs)
		bench.as_bench_user(self.layout, self.layout.run / "nginx")

	def _choose_endpoints(self) -> None:
		count = self.layout.socketio_servers
		front_port = os.environ.get("WEBVIEW_KIT_PORT")
		ports = free_ports(5 + count)
		if front_port:
			ports[0] = int(front_port)
			if not port_for.is_available(ports[0]):
				raise StackError(
					f"WEBVIEW_KIT_PORT={front_port} is taken; free it or unset WEBVIEW_KIT_PORT."
				)
		point = lambda port: {"host": LOOPBACK, "port": port}  # noqa: E731
		try:
			front_host = str(ipaddress.IPv4Address(self.layout.host))
		except ValueError:
			raise StackError(
				f"HOST={self.layout.host!r} is not an IPv4 address (for example 0.0.0.0)"
			) from None
		self.supervisor.state = {
			"processes": {},
			"endpoints": {
				"bind": LOOPBACK,
				"front": {"host": front_host, "port": ports[0]},
				"mariadb": point(ports[1]),
				"redis_cache": point(ports[2]),
				"redis_queue": point(ports[3]),
				"web": point(ports[4]),
				"socketio": [point(p) for p in ports[5:]],
			},
		}
		self.supervisor.save()

	def _start_data_services(self) -> None:
		ep = self.endpoints
		self._ensure_mariadb_datadir()
		self.supervisor.start(self._mariadb(ep.mariadb), timeout=60)
		self._set_mariadb_root_password()
		self.supervisor.start(redis("redis-cache", ep.redis_cache, ep.bind))
		self.supervisor.start(redis("redis-queue", ep.redis_queue, ep.bind))

	def _mariadb(self, ep: Endpoint) -> Process:
		run = self.layout.run
		argv = (
			"mariadbd",
			"--no-defaults",
			f"--datadir={self.layout.mariadb_data}",
			f"--socket={run}/mariadb.sock",
			f"--pid-file={run}/mariadb.pid",
			f"--bind-address={ep.host}",
			f"--port={ep.port}",
			"--character-set-server=utf8mb4",
			"--collation-server=utf8mb4_unicode_ci",
			"--skip-character-set-client-handshake",
			"--innodb-buffer-pool-size=256M",
			"--skip-log-bin",
		)
		return Process("mariadb", argv, ready=("tcp", ep.address))

	def _ensure_mariadb_datadir(self) -> None:
		data = self.layout.mariadb_data
		if (data / MARIADB_READY).exists():
			return
		shutil.rmtree(data, ignore_errors=True)
		bench.as_bench_user(self.layout, data)
		bench.run_logged(
			self.layout,
			[
				"mariadb-install-db",
				"--no-defaults",
				f"--datadir={data}",
				"--auth-root-authentication-method=normal",
				"--skip-test-db",
			],
			"mariadb-install-db",
			self.layout.cache,
		)

	def _set_mariadb_root_password(self) -> None:
		data = self.layout.mariadb_data
		if (data / MARIADB_READY).exists():
			return
		password = self.layout.db_root_password
		sql = (
			f"ALTER USER root@localhost IDENTIFIED BY '{password}';"
			f"CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED BY '{password}';"
			"GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;"
		)
		bench.run_logged(
			self.layout,
			["mariadb", "--no-defaults", f"--socket={self.layout.run}/mariadb.sock", "-uroot", "-e", sql],
			"mariadb-root",
			self.layout.cache,
		)
		(data / MARIADB_READY).write_text("")

	def _set_host_name(self) -> None:
		"""Point the site's own URL (used in deep links, their QR codes and emails) at this run's front."""
		config = self.layout.sites / self.layout.site / "site_config.json"
		settings = json.loads(config.read_text())
		settings["host_name"] = self.public_url
		config.write_text(json.dumps(settings, indent=1))

	def _start_nginx(self) -> None:
		run, logs, ep = self.layout.run, self.layout.logs, self.endpoints
		front = render_nginx(
			ep,
			self.layout.site,
			self.layout.sites,
			str(logs / "nginx-access.log"),
			self.layout.trusted_proxies,
		)
		(run / "webview_kit.conf").write_text(front)
		(run / "nginx.conf").write_text(NGINX_MAIN.format(run=run, logs=logs, **nginx_limits()))
		argv = (
			"nginx",
			"-p",
			str(run / "nginx"),
			"-c",
			str(run / "nginx.conf"),
			"-e",
			str(logs / "nginx-error.log"),
		)
		self.supervisor.start(
			Process("nginx", argv, ready=("http", f"{self.url}/api/method/ping")), timeout=30
		)
