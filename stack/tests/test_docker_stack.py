"""`DockerStack` against a stand-in `docker` CLI that records what it is asked to run."""

from __future__ import annotations

import json
import os
import stat

import pytest

from stack.docker import COMPOSE_FILE, SERVICES, DockerStack
from stack.supervisor import StackError

FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "{calls}"
case "$*" in
	info*) [ -n "$FAKE_NO_ENGINE" ] && {{ echo "Cannot connect to the Docker daemon" >&2; exit 1; }}; echo 27.0.0 ;;
	"compose version") echo "Docker Compose version v2.29.0" ;;
	*" ps "*) cat "{ps}" ;;
	*" exec -T backend bench "*) echo "site says hello" ;;
esac
"""


@pytest.fixture
def docker(tmp_path, monkeypatch):
	"""A fake `docker` first on PATH; returns a function giving the compose calls made so far."""
	calls, ps = tmp_path / "calls", tmp_path / "ps.json"
	script = tmp_path / "bin" / "docker"
	script.parent.mkdir()
	script.write_text(FAKE_DOCKER.format(calls=calls, ps=ps))
	script.chmod(script.stat().st_mode | stat.S_IEXEC)
	monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
	monkeypatch.delenv("WEBVIEW_KIT_SITE", raising=False)
	monkeypatch.delenv("WEBVIEW_KIT_PORT", raising=False)
	compose = f"compose --file {COMPOSE_FILE} "

	def made(services_health: dict[str, str] | None = None) -> list[str]:
		if services_health is not None:
			lines = [
				json.dumps({"Service": s, "State": "running", "Health": h})
				for s, h in services_health.items()
			]
			ps.write_text("\n".join(lines))
		text = calls.read_text() if calls.exists() else ""
		return [line.removeprefix(compose) for line in text.splitlines() if line.startswith(compose)]

	return made


def test_site_and_url_come_from_the_env_file(docker):
	stack = DockerStack()
	assert (stack.site, stack.url) == ("webview.localhost", "http://127.0.0.1:8080")


def test_shell_variables_win_over_the_env_file(docker, monkeypatch):
	monkeypatch.setenv("WEBVIEW_KIT_PORT", "8181")
	assert DockerStack().url == "http://127.0.0.1:8181"


def test_up_without_an_engine_fails_fast_and_names_the_native_stack(docker, monkeypatch):
	monkeypatch.setenv("FAKE_NO_ENGINE", "1")
	assert not DockerStack.engine_available()
	with pytest.raises(StackError, match=r"(?s)no Docker engine is reachable.*STACK=native"):
		DockerStack().up()
	assert docker() == []


def test_native_names_map_to_compose_services_for_kill_and_restart(docker):
	stack = DockerStack()
	stack.kill("socketio-0")
	stack.restart("socketio-0")
	assert docker() == [
		"kill --signal SIGKILL websocket",
		"up --detach --no-deps --wait websocket",
		"exec -T frontend nginx -s reload",
	]


def test_an_unknown_service_name_is_refused(docker):
	with pytest.raises(StackError, match="socketio-1"):
		DockerStack().kill("socketio-1")


def test_site_commands_run_under_bench_in_the_backend_container(docker, tmp_path):
	stack = DockerStack()
	assert stack.site_output(["list-apps"]) == "site says hello\n"
	process = stack.site_process(["webview", "count"], tmp_path / "count.log")
	assert process.stdin is not None
	process.stdin.close()
	assert process.wait(timeout=10) == 0
	assert docker() == [
		"exec -T backend bench --site webview.localhost list-apps",
		"exec -T backend bench --site webview.localhost webview count",
	]


@pytest.mark.parametrize(
	("health", "up"),
	[
		({service: "healthy" for service in SERVICES.values()}, True),
		({**{service: "healthy" for service in SERVICES.values()}, "worker": "starting"}, False),
		({service: "healthy" for service in SERVICES.values() if service != "frontend"}, False),
	],
)
def test_is_up_only_when_every_long_running_service_is_healthy(docker, health, up):
	docker(health)
	assert DockerStack().is_up() is up


def test_is_up_only_when_every_replica_is_healthy(docker, tmp_path):
	docker({})
	rows = [{"Service": s, "State": "running", "Health": "healthy"} for s in SERVICES.values()]
	rows.append({"Service": "websocket", "State": "running", "Health": "unhealthy"})
	(tmp_path / "ps.json").write_text("\n".join(json.dumps(row) for row in rows))
	assert not DockerStack().is_up()


def test_compose_ps_json_array_of_older_compose_is_understood(docker, tmp_path):
	docker({})
	rows = [{"Service": s, "State": "running", "Health": "healthy"} for s in SERVICES.values()]
	(tmp_path / "ps.json").write_text(json.dumps(rows))
	assert DockerStack().is_up()


def test_a_failing_compose_command_raises_with_its_output(docker, tmp_path):
	failing = tmp_path / "bin" / "docker"
	failing.write_text(
		failing.read_text().replace("esac", 'esac\ncase "$*" in *kill*) echo boom >&2; exit 3 ;; esac')
	)
	with pytest.raises(StackError, match=r"(?s)exit 3.*boom"):
		DockerStack().kill("web")
