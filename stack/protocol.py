"""What callers may ask of a stack, native (`stack.native.Stack`) or Docker (`stack.docker.DockerStack`).

The e2e fixtures, `stack.session` and the `make` verbs that work on either stack use only
these members; `stack/tests/test_docker_protocol.py` checks that both classes have each of
them with the same signature and that the browser suite asks for nothing else. To give the
fixtures something new, add it here and to both stacks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["StackProtocol"]


@runtime_checkable
class StackProtocol(Protocol):
	"""A running (or stopped) webview_kit stack: one front, one site, named services."""

	@property
	def url(self) -> str:
		"""The front every page, API call and socket goes through."""
		...

	@property
	def site(self) -> str:
		"""The Frappe site's name."""
		...

	def up(self) -> None:
		"""Build what is missing and start every service, returning once all answer."""
		...

	def down(self) -> None:
		"""Stop what `up` started."""
		...

	def is_up(self) -> bool:
		"""Whether every service is running and ready."""
		...

	def is_running(self) -> bool:
		"""Whether a stack is running here at all, even with a service down."""
		...

	def site_command(self, args: list[str], step: str, show: bool = False, env: dict | None = None) -> None:
		"""Run a `bench --site` command with `env` added to its environment; with `show`, its
		output goes to the terminal."""
		...

	def site_output(self, args: list[str], site: str | None = None) -> str:
		"""Run a `bench --site` command (of `site`, default the stack's) and return what it printed."""
		...

	def new_site(self, site: str) -> None:
		"""Create another site on the stack's database with webview_kit alone installed (no demo)."""
		...

	def drop_site(self, site: str) -> None:
		"""Drop a site `new_site` made, and its database."""
		...

	def site_process(self, args: list[str], log: Path) -> subprocess.Popen:
		"""Start a `bench --site` command with a stdin pipe, its output going to `log`."""
		...

	def kill(self, name: str) -> None:
		"""Kill service `name` (the native names: `socketio-0`, `redis-queue`, ...) as a crash would."""
		...

	def restart(self, name: str) -> None:
		"""Start a killed service again and return once it answers."""
		...

	def freeze(self, name: str) -> None:
		"""Stop service `name` with its connections left open (SIGSTOP), as a hung process would."""
		...

	def thaw(self, name: str) -> None:
		"""Let a frozen service run on (SIGCONT)."""
		...

	def socket_clients(self) -> dict[str, int]:
		"""Open page sockets per socket.io server: `{"socketio-0": 3, ...}`, one key per server."""
		...

	def access_log(self) -> str:
		"""What the front's access log holds: one line per request it answered."""
		...

	def error_log(self) -> str:
		"""What the front's error log holds (what went wrong, such as an upstream refusing it)."""
		...

	def scale_socketio(self, count: int) -> None:
		"""Run `count` socket.io servers from now on, behind the same front."""
		...
