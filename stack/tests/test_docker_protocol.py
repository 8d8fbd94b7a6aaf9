"""The native `Stack` and `DockerStack` both are a `StackProtocol`, and the browser suite asks for no more."""

from __future__ import annotations

import ast
import inspect

import pytest

from stack.docker import DockerStack
from stack.layout import REPO
from stack.native import Stack
from stack.protocol import StackProtocol
from stack.swarm import SwarmStack

MEMBERS = sorted(name for name in vars(StackProtocol) if not name.startswith("_"))
# Names the suite gives a stack it got from a fixture.
STACK_NAMES = {"stack", "running", "two_socket_servers"}
CALLERS = [*sorted((REPO / "e2e").glob("*.py")), REPO / "stack" / "session.py"]


def kind(member) -> str:
	return "property" if isinstance(member, property) else "method"


def signature(member) -> inspect.Signature:
	function = member.fget if isinstance(member, property) else member
	return inspect.signature(function, eval_str=True)


@pytest.mark.parametrize("stack_class", [Stack, DockerStack, SwarmStack], ids=["native", "docker", "swarm"])
@pytest.mark.parametrize("name", MEMBERS)
def test_both_stacks_have_every_member_with_the_protocols_signature(stack_class, name):
	declared = inspect.getattr_static(StackProtocol, name)
	member = inspect.getattr_static(stack_class, name, None)
	assert member is not None, f"{stack_class.__name__} has no {name}"
	assert kind(member) == kind(declared), f"{stack_class.__name__}.{name} is a {kind(member)}"
	if kind(member) == "method":
		assert signature(member) == signature(declared), f"{stack_class.__name__}.{name}"
	else:
		assert signature(member).return_annotation == signature(declared).return_annotation


def test_the_protocol_is_not_empty():
	assert {"up", "down", "url", "kill", "restart", "socket_clients", "scale_socketio"} <= set(MEMBERS)


def asked_of_a_stack(path) -> set[tuple[str, int, str]]:
	"""(file, line, attribute) for every `stack.x` and `self.stack.x` the file reads or calls."""
	asked = set()
	for node in ast.walk(ast.parse(path.read_text())):
		if not isinstance(node, ast.Attribute):
			continue
		value = node.value
		named = (isinstance(value, ast.Name) and value.id in STACK_NAMES) or (
			isinstance(value, ast.Attribute) and value.attr in STACK_NAMES
		)
		if named:
			asked.add((path.name, node.lineno, node.attr))
	return asked


def test_the_suite_asks_a_stack_only_what_the_protocol_declares():
	asked = set().union(*(asked_of_a_stack(path) for path in CALLERS))
	assert {attr for _file, _line, attr in asked} >= {"kill", "restart", "site_output", "url"}, (
		"the scan works"
	)
	undeclared = sorted(entry for entry in asked if entry[2] not in MEMBERS)
	assert not undeclared, f"not in stack/protocol.py, so one stack may lack it: {undeclared}"
