"""The native supervisor's restart policy, on a small real server instead of the stack."""

from __future__ import annotations

import getpass
import sys
import time
from pathlib import Path

import pytest

from stack.native import free_ports
from stack.services import Process
from stack.supervisor import StackError, Supervisor, _start_time, tcp_answers


@pytest.fixture
def supervisor(tmp_path):
	supervisor = Supervisor(tmp_path / "state.json", tmp_path / "logs", tmp_path, getpass.getuser())
	yield supervisor
	supervisor.stop_all()


@pytest.fixture
def http_server():
	"""A server that answers on a free port, started again whenever it dies."""
	port = free_ports(1)[0]
	argv = (sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1")
	return Process(
		"http", argv, env={"PYTHONUNBUFFERED": "1"}, ready=("tcp", f"127.0.0.1:{port}"), respawn=True
	)


def wait_for(condition, timeout: float, what: str) -> None:
	deadline = time.monotonic() + timeout
	while not condition():
		assert time.monotonic() < deadline, what
		time.sleep(0.05)


def test_a_crashed_program_is_started_again(supervisor, http_server):
	supervisor.start(http_server, timeout=30)
	log = supervisor.logs / "http.log"

	supervisor.crash("http")

	# The respawner writes this once it has reaped the program, every thread of it gone.
	wait_for(lambda: "exited with status 137" in log.read_text(), 5, "the respawner saw the crash")
	wait_for(lambda: tcp_answers(http_server.ready[1]), 10, "the server answers again")
	assert supervisor.alive("http")
	assert log.read_text().count("Serving HTTP") == 2
	assert supervisor.restarts("http") == 1


def test_stop_ends_the_program_and_its_respawner(supervisor, http_server):
	supervisor.start(http_server, timeout=30)
	wrapper = supervisor.processes["http"]["pid"]
	program = int(Path(f"/proc/{wrapper}/task/{wrapper}/children").read_text().split()[0])

	supervisor.stop("http")

	assert _start_time(wrapper) is None and _start_time(program) is None
	assert not tcp_answers(http_server.ready[1])


def test_kill_is_not_undone_by_the_respawner(supervisor, http_server):
	supervisor.start(http_server, timeout=30)

	supervisor.kill("http")
	time.sleep(1)  # longer than the first respawn delay

	assert not supervisor.alive("http")
	assert not tcp_answers(http_server.ready[1])


def test_a_program_that_fails_at_once_fails_the_start(supervisor):
	port = free_ports(1)[0]
	failing = Process(
		"failing",
		(sys.executable, "-c", "raise SystemExit(3)"),
		ready=("tcp", f"127.0.0.1:{port}"),
		respawn=True,
	)
	started = time.monotonic()

	with pytest.raises(StackError, match="failing exited with 3 while starting"):
		supervisor.start(failing, timeout=30)
	assert time.monotonic() - started < 10


def test_only_a_respawned_process_can_be_crashed(supervisor, http_server):
	plain = Process(**{**http_server.__dict__, "respawn": False})
	supervisor.start(plain, timeout=30)

	with pytest.raises(StackError, match="not respawned"):
		supervisor.crash("http")
