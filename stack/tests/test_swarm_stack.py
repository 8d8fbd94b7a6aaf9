"""SwarmStack leaves the engine's swarm as it found it: it makes one only when there is none, and leaves only that."""

from __future__ import annotations

import pytest
import yaml

from stack import swarm as swarm_module
from stack.docker import COMPOSE_FILE
from stack.swarm import StackError, SwarmStack


class FakeEngine:
	"""`docker` as SwarmStack calls it: records each call, answers swarm state and empty listings."""

	def __init__(self, state: str):
		self.state = state
		self.calls: list[list[str]] = []

	def __call__(self, args: list[str], check: bool = True) -> str:
		self.calls.append(args)
		if args[:1] == ["info"]:
			return self.state + "\n"
		if args[:2] == ["swarm", "init"]:
			self.state = "active"
		if args[:2] == ["swarm", "leave"]:
			self.state = "inactive"
		return ""

	def did(self, *prefix: str) -> bool:
		return any(call[: len(prefix)] == list(prefix) for call in self.calls)


@pytest.fixture
def stack(tmp_path, monkeypatch):
	monkeypatch.setenv("WEBVIEW_KIT_CACHE", str(tmp_path))
	monkeypatch.setattr(swarm_module.DockerStack, "_require_engine", lambda self: None)
	made = SwarmStack()
	made._created_flag = tmp_path / "swarm-created"
	monkeypatch.setattr(made, "_bridge_address", lambda: "172.17.0.1")
	return made


def test_a_swarm_is_made_when_there_is_none_and_left_on_down(stack, monkeypatch):
	engine = FakeEngine("inactive")
	monkeypatch.setattr(stack, "_docker", engine)

	stack._ensure_swarm()
	assert engine.did("swarm", "init", "--advertise-addr", "172.17.0.1")
	stack.down()

	assert engine.did("stack", "rm", stack.name)
	assert engine.did("swarm", "leave") and engine.state == "inactive"
	assert not stack._created_flag.exists()


def test_a_swarm_that_was_there_stays_after_down(stack, monkeypatch):
	engine = FakeEngine("active")
	monkeypatch.setattr(stack, "_docker", engine)

	stack._ensure_swarm()
	stack.down()

	assert not engine.did("swarm", "init")
	assert not engine.did("swarm", "leave") and engine.state == "active"
	assert engine.did("volume", "rm", "--force", f"{stack.name}_sites")
	assert engine.did("volume", "rm", "--force", f"{stack.name}_mariadb-data")


def test_down_leaves_the_compose_projects_site_and_database_alone(stack, monkeypatch):
	engine = FakeEngine("active")
	monkeypatch.setattr(stack, "_docker", engine)
	compose = yaml.safe_load(COMPOSE_FILE.read_text())
	composes = {f"{compose['name']}_{volume}" for volume in compose["volumes"]}

	stack.down()

	removed = {call[-1] for call in engine.calls if call[:2] == ["volume", "rm"]}
	assert removed and not removed & composes


def test_a_killed_socket_server_is_the_tasks_container_in_slot_order(stack, monkeypatch):
	rows = [
		{"ID": "b", "Names": f"{stack.name}_websocket.2.xyz", "Status": "Up (healthy)"},
		{"ID": "a", "Names": f"{stack.name}_websocket.1.abc", "Status": "Up (healthy)"},
	]
	monkeypatch.setattr(
		stack, "_containers", lambda service=None: sorted(rows, key=lambda r: swarm_module._slot(r["Names"]))
	)

	assert stack._named("socketio-0") == ["a"] and stack._named("socketio-1") == ["b"]
	with pytest.raises(swarm_module.StackError, match="has 2 task"):
		stack._named("socketio-2")


def service(template: dict, status: dict | None) -> dict:
	"""A service as `docker service inspect` shows it: its tasks' spec and its last update."""
	return {"Spec": {"TaskTemplate": template}, **({"UpdateStatus": status} if status else {})}


@pytest.fixture
def inspections(stack, monkeypatch):
	"""Make `_snapshot` answer the given service states in turn; `seen` counts the answers given."""
	monkeypatch.setattr(swarm_module.time, "sleep", lambda seconds: None)
	answers: list[dict] = []
	seen = []

	def inspect(name):
		seen.append(name)
		return answers[min(len(seen), len(answers)) - 1]

	monkeypatch.setattr(stack, "_snapshot", inspect)
	return answers, seen


LAST_UPDATE = {"State": "completed", "StartedAt": "2026-12-06T09:00:00Z"}
BEFORE = service({"image": "old"}, LAST_UPDATE)


def test_a_deploy_waits_for_the_update_swarm_has_not_started_yet(stack, inspections):
	answers, seen = inspections
	answers += [
		# Just after the deploy: the new spec, and the last update's "completed" is all there is.
		service({"image": "new"}, LAST_UPDATE),
		service({"image": "new"}, {"State": "updating", "StartedAt": "2026-12-06T10:00:05Z"}),
		service({"image": "new"}, {"State": "completed", "StartedAt": "2026-12-06T10:00:05Z"}),
	]

	stack._wait_rolled("frontend", BEFORE)

	assert len(seen) == 3


def test_a_change_of_replicas_alone_rolls_nothing_and_is_not_waited_for(stack, inspections):
	answers, seen = inspections
	answers.append(service({"image": "old"}, LAST_UPDATE))

	stack._wait_rolled("websocket", BEFORE)

	assert len(seen) == 1


def test_a_new_service_has_no_update_to_wait_for(stack, inspections):
	_answers, seen = inspections

	stack._wait_rolled("websocket", None)

	assert seen == []


def test_an_update_rolled_back_fails_the_deploy(stack, inspections):
	answers, _seen = inspections
	rolled_back = {
		"State": "rollback_completed",
		"StartedAt": "2026-12-06T10:00:06Z",
		"Message": "task unhealthy",
	}
	answers.append(service({"image": "new"}, rolled_back))

	with pytest.raises(swarm_module.StackError, match=r"rollback_completed\).*task unhealthy"):
		stack._wait_rolled("backend", BEFORE)


class FinishedJobEngine(FakeEngine):
	"""After `stack rm`, the setup job's exited container stays until it is removed, as on a real
	engine, and holds the sites volume until then. A volume in `held` is mounted by a container
	outside the stack and is never removed."""

	def __init__(self, name: str, held: tuple[str, ...] = ()):
		super().__init__("active")
		self.sites = f"{name}_sites"
		self.volumes = {self.sites, f"{name}_mariadb-data"}
		self.job = f"{name}_setup.1.x"
		self.held = {*held}

	def __call__(self, args: list[str], check: bool = True) -> str:
		super().__call__(args, check)
		if args[:1] == ["ps"] and "--all" in args and self.job:
			return f'{{"ID": "c0ffee", "Names": "{self.job}", "State": "exited"}}\n'
		if args[:2] == ["rm", "--force"] and "c0ffee" in args:
			self.job = ""
		if args[:2] == ["volume", "rm"]:
			held = set(args[2:]) & (self.held | ({self.sites} if self.job else set()))
			if held and check:
				raise StackError(f"remove {', '.join(held)}: volume is in use")
			self.volumes -= set(args[2:]) - held
		return ""


def test_down_removes_the_finished_setup_job_so_the_volumes_really_go(stack, monkeypatch):
	engine = FinishedJobEngine(stack.name)
	monkeypatch.setattr(stack, "_docker", engine)

	stack.down()

	assert engine.volumes == set()


def test_down_says_so_when_a_volume_is_held_by_something_else(stack, monkeypatch):
	held = f"{stack.name}_sites"
	monkeypatch.setattr(stack, "_docker", FinishedJobEngine(stack.name, held=(held,)))

	with pytest.raises(StackError, match=held):
		stack.down()
