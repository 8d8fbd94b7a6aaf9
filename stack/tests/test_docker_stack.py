"""`DockerStack` against a stand-in `docker` CLI that records what it is asked to run."""

from __future__ import annotations

import json
import os
import stat

import pytest

from stack.__main__ import main
from stack.docker import COMPOSE_FILE, SERVICES, DockerStack
from stack.supervisor import StackError

FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "{calls}"
for last; do :; done
case "$*" in
	info*) [ -n "$FAKE_NO_ENGINE" ] && {{ echo "Cannot connect to the Docker daemon" >&2; exit 1; }}; echo 27.0.0 ;;
	"compose version") echo "Docker Compose version v2.29.0" ;;
	*" ps "*json) cat "{ps}" ;;
	*" ps "*) grep -F '"Service": "'"$last"'"' "{ps}" ;;
	*" exec -T backend bench "*|*" worker bench "*) echo "site says hello" ;;
	"inspect "*) echo '{{"Test": ["CMD", "true"]}}' ;;
	"exec "*" cat /proc/net/tcp /proc/net/tcp6") cat "{tmp}/tcp-$2" ;;
	*" pull "*) [ -n "$FAKE_PULL_FAILS" ] && {{
		echo " mariadb Pulling"
		echo "Error response from daemon: Get https://registry-1.docker.io/v2/: dial tcp: lookup registry-1.docker.io: no such host" >&2
		exit 18
	}} ;;
	*" build") [ -n "$FAKE_BUILD_FAILS" ] && {{
		echo "#3 [internal] load metadata for docker.io/library/python:3.11.16-slim-bookworm"
		echo "failed to solve: python:3.11.16-slim-bookworm: failed to resolve source metadata: no such host" >&2
		exit 17
	}} ;;
esac
exit 0
"""
NOT_ASKED = ("info ", "compose version", "inspect ")


def rows(*replicas: tuple[str, int], health: str = "healthy", state: str = "running") -> list[dict]:
	"""`docker compose ps` rows: one per (service, replica number)."""
	return [
		{
			"Service": service,
			"Name": f"webview_kit-{service}-{number}",
			"Labels": f"com.docker.compose.project=webview_kit,com.docker.compose.container-number={number}",
			"State": state,
			"Health": health,
		}
		for service, number in replicas
	]


def every_service(**health: str) -> list[dict]:
	"""One healthy running container per long-running service, unless `health` says otherwise."""
	return [
		row
		for service in (*SERVICES.values(), "websocket")
		for row in rows((service, 1), health=health.get(service.replace("-", "_"), "healthy"))
	]


@pytest.fixture
def docker(tmp_path, monkeypatch):
	"""A fake `docker` first on PATH; returns `made(rows=None)`: the calls made so far.

	Compose calls lose their `compose --file ...` prefix; `rows` sets what `ps` lists.
	"""
	calls, ps = tmp_path / "calls", tmp_path / "ps.json"
	script = tmp_path / "bin" / "docker"
	script.parent.mkdir()
	script.write_text(FAKE_DOCKER.format(calls=calls, ps=ps, tmp=tmp_path))
	script.chmod(script.stat().st_mode | stat.S_IEXEC)
	monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
	for name in (
		"WEBVIEW_KIT_SITE",
		"WEBVIEW_KIT_PORT",
		"FAKE_NO_ENGINE",
		"FAKE_PULL_FAILS",
		"FAKE_BUILD_FAILS",
	):
		monkeypatch.delenv(name, raising=False)
	compose = f"compose --file {COMPOSE_FILE} "
	ps.write_text("")

	def made(listed: list[dict] | None = None) -> list[str]:
		if listed is not None:
			ps.write_text("\n".join(json.dumps(row) for row in listed))
		text = calls.read_text() if calls.exists() else ""
		return [line.removeprefix(compose) for line in text.splitlines() if not line.startswith(NOT_ASKED)]

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


def test_native_names_map_to_containers_for_kill_and_restart(docker):
	docker(every_service())
	stack = DockerStack()
	stack.kill("socketio-0")
	stack.kill("redis-queue")
	stack.restart("redis-queue")
	assert [call for call in docker() if not call.startswith("ps ")] == [
		"kill --signal SIGKILL webview_kit-websocket-1",
		"kill --signal SIGKILL webview_kit-redis-queue-1",
		"start webview_kit-redis-queue-1",
		"exec webview_kit-redis-queue-1 true",  # its healthcheck, run at once
	]


def test_restarting_an_upstream_reloads_the_front(docker):
	docker(every_service())
	DockerStack().restart("socketio-0")
	assert [call for call in docker() if not call.startswith("ps ")] == [
		"start webview_kit-websocket-1",
		"exec webview_kit-websocket-1 true",
		"exec -T frontend sh /docker-entrypoint.d/40-follow-upstreams.sh now",
	]


def test_socketio_n_is_the_nth_websocket_replica_whatever_its_number(docker):
	docker(rows(("websocket", 3), ("websocket", 2)))  # scaled to 3, then back to 2
	stack = DockerStack()
	stack.kill("socketio-1")
	assert docker()[-1] == "kill --signal SIGKILL webview_kit-websocket-3"
	with pytest.raises(StackError, match="websocket has 2 replica"):
		stack.kill("socketio-2")


@pytest.mark.parametrize("name", ["socket-0", "socketio-x", "web-1"])
def test_an_unknown_service_name_is_refused(docker, name):
	with pytest.raises(StackError, match=name):
		DockerStack().kill(name)


TCP_TABLE = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1
   1: 0500120A:2328 0600120A:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 2 1
   2: 0500120A:2328 0600120A:9C42 01 00000000:00000000 00:00000000 00000000  1000        0 3 1
   3: 0500120A:2328 0600120A:9C44 06 00000000:00000000 00:00000000 00000000  1000        0 4 1
   4: 0500120A:A0B2 0600120A:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 5 1
"""


def test_socket_clients_counts_established_sockets_on_each_replica(docker, tmp_path):
	docker([*rows(("websocket", 1), ("websocket", 2)), *rows(("websocket", 3), state="exited")])
	(tmp_path / "tcp-webview_kit-websocket-1").write_text(TCP_TABLE)
	(tmp_path / "tcp-webview_kit-websocket-2").write_text(TCP_TABLE.splitlines()[0] + "\n")
	# Listening, closing, and its own calls out to Frappe's port are not a page's socket.
	assert DockerStack().socket_clients() == {"socketio-0": 2, "socketio-1": 0, "socketio-2": 0}


def test_scaling_the_socket_servers_scales_websocket_then_recreates_the_front(docker):
	DockerStack().scale_socketio(2)
	assert docker() == [
		"up --detach --no-deps --wait --scale websocket=2 websocket",
		"up --detach --no-deps --wait --force-recreate frontend",
	]


def test_site_commands_run_in_the_backend_and_long_ones_in_the_worker(docker, tmp_path):
	"""A long-running site process outlives an outage of the web server, as natively."""
	stack = DockerStack()
	assert stack.site_output(["list-apps"]) == "site says hello\n"
	process = stack.site_process(["webview", "count"], tmp_path / "count.log")
	assert process.stdin is not None
	process.stdin.close()
	assert process.wait(timeout=10) == 0
	assert docker() == [
		"exec -T backend bench --site webview.localhost list-apps",
		"exec -T --workdir /home/frappe/frappe-bench worker bench --site webview.localhost webview count",
	]


def test_a_site_command_gets_the_environment_it_asks_for(docker):
	DockerStack().site_command(["run-tests", "--app", "webview_kit"], "server-tests", env={"CI": "1"})
	assert docker() == [
		"exec -T --env CI=1 backend bench --site webview.localhost run-tests --app webview_kit"
	]


def test_up_pulls_what_is_missing_builds_ours_then_waits_for_health(docker):
	DockerStack().up()
	assert docker() == [
		"pull --ignore-buildable --policy missing",
		"build",
		"up --detach --wait --wait-timeout 600",
	]


@pytest.mark.parametrize(
	("failing", "step", "reason"),
	[
		(
			"FAKE_PULL_FAILS",
			"pulled (`docker compose pull` exit 18",
			"lookup registry-1.docker.io: no such host",
		),
		("FAKE_BUILD_FAILS", "built (`docker compose build` exit 17", "failed to resolve source metadata"),
	],
)
def test_images_that_cannot_be_had_fail_in_one_line_naming_the_native_stack(
	docker, monkeypatch, capsys, failing, step, reason
):
	monkeypatch.setenv(failing, "1")
	with pytest.raises(StackError) as error:
		DockerStack().up()
	message = str(error.value)
	assert "\n" not in message
	assert f"The Docker images could not be {step}" in message and reason in message
	assert "STACK=native" in message
	assert not [call for call in docker() if call.startswith("up ")], "nothing is started"
	assert reason in capsys.readouterr().out, "compose's own output is shown as it comes"


def test_auto_picks_docker_and_its_image_failure_names_the_native_stack(docker, monkeypatch, capsys):
	monkeypatch.setenv("FAKE_BUILD_FAILS", "1")
	assert main(["up", "--stack", "auto"]) == 1
	out, err = capsys.readouterr()
	assert "Stack: docker (auto: a Docker engine answers)" in out
	[line] = [line for line in err.splitlines() if line.strip()]
	assert "could not be built" in line and "STACK=native" in line


def test_down_removes_containers_and_their_anonymous_volumes_but_keeps_the_site(docker):
	DockerStack().down()
	assert docker() == ["rm --stop --force --volumes", "down --remove-orphans"]


def test_make_down_with_stack_docker_takes_the_docker_stack_down(docker):
	assert main(["down", "--stack", "docker"]) == 0
	assert docker() == ["rm --stop --force --volumes", "down --remove-orphans"]


@pytest.mark.parametrize(
	("listed", "up"),
	[
		(every_service(), True),
		(every_service(worker="starting"), False),
		(every_service(websocket="unhealthy"), False),
		([row for row in every_service() if row["Service"] != "frontend"], False),
		([*every_service(), *rows(("websocket", 2), health="unhealthy")], False),
	],
	ids=["all-healthy", "worker-starting", "websocket-unhealthy", "no-frontend", "one-replica-unhealthy"],
)
def test_is_up_only_when_every_container_of_every_long_running_service_is_healthy(docker, listed, up):
	docker(listed)
	assert DockerStack().is_up() is up


@pytest.mark.parametrize(
	("listed", "running"),
	[
		(every_service(websocket="unhealthy"), True),
		(rows(("frontend", 1), state="exited"), False),
		([], False),
	],
	ids=["front-up-websocket-down", "front-exited", "nothing"],
)
def test_is_running_when_the_front_runs(docker, listed, running):
	docker(listed)
	assert DockerStack().is_running() is running


def test_compose_ps_json_array_of_older_compose_is_understood(docker, tmp_path):
	(tmp_path / "ps.json").write_text(json.dumps(every_service()))
	assert DockerStack().is_up()


def test_a_failing_docker_command_raises_with_its_output(docker, tmp_path):
	docker(every_service())
	failing = tmp_path / "bin" / "docker"
	failing.write_text(
		failing.read_text().replace("exit 0\n", 'case "$*" in kill*) echo boom >&2; exit 3 ;; esac\nexit 0\n')
	)
	with pytest.raises(StackError, match=r"(?s)exit 3.*boom"):
		DockerStack().kill("web")
