"""(7) Memory: resident set size of each stack process, with its children.

A stack process is what the launcher records (gunicorn's master and its workers count
as `web`, nginx's master and worker as `nginx`). RSS counts pages shared between a
master and its forked workers once per process, so `web` is an upper bound.
"""

from __future__ import annotations

from pathlib import Path


def _children() -> dict[int, list[int]]:
	tree: dict[int, list[int]] = {}
	for stat in Path("/proc").glob("[0-9]*/stat"):
		try:
			fields = stat.read_text().rsplit(")", 1)[1].split()
		except (FileNotFoundError, ProcessLookupError):
			continue
		tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
	return tree


def _rss_kb(pid: int) -> int:
	try:
		for line in Path(f"/proc/{pid}/status").read_text().splitlines():
			if line.startswith("VmRSS:"):
				return int(line.split()[1])
	except (FileNotFoundError, ProcessLookupError):
		pass
	return 0


def snapshot(stack) -> dict[str, float]:
	"""RSS in MB of every running stack process and its descendants."""
	tree = _children()
	sizes = {}
	for name in stack.supervisor.running():
		pids, todo = [], [stack.supervisor.processes[name]["pid"]]
		while todo:
			pid = todo.pop()
			pids.append(pid)
			todo.extend(tree.get(pid, []))
		sizes[name] = sum(_rss_kb(pid) for pid in pids) / 1024
	return sizes
