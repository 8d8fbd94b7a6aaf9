"""Use a stack for one run: the one that is running if it will do, else one started and stopped here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stack_for_run(stack, *, reuse: bool, keep: bool = False) -> Iterator:
	"""Yield `stack` as it runs when `reuse`; otherwise bring it up, and down afterwards unless `keep`.

	Only what this run started is stopped, so a stack someone left running stays running.
	"""
	started = not reuse
	if started:
		stack.up()
	else:
		print(f"Using the stack that is already running at {stack.url}", flush=True)
	try:
		yield stack
	finally:
		if started and not keep:
			stack.down()
