"""A newcomer's machine: root prepares the tools venv for a bench user whose home has nothing in it.

Everything the preparation creates, the cache and `~/.cache` among it, must belong to that
user: one root-owned folder there stops uv, pip and yarn in every later step of the build.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import uuid
from pathlib import Path

import pytest

from stack.layout import REPO

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates a throwaway user: needs root")


@pytest.fixture
def newcomer():
	"""A user made for this test, whose home holds only what useradd puts there; removed afterwards."""
	name = f"wvk{uuid.uuid4().hex[:8]}"
	subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
	try:
		home = Path(pwd.getpwnam(name).pw_dir)
		assert not (home / ".cache").exists()
		yield name, home
	finally:
		subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


def test_root_prepares_the_tools_venv_and_the_bench_user_owns_all_it_created(newcomer, tmp_path):
	name, home = newcomer
	requirements = tmp_path / "requirements.txt"
	requirements.write_text("port-for==1.1.1\n")
	env = {
		**{k: v for k, v in os.environ.items() if k != "WEBVIEW_KIT_CACHE"},
		"BENCH_USER": name,
		"WEBVIEW_KIT_TOOLS_REQUIREMENTS": str(requirements),
	}

	done = subprocess.run([str(REPO / "stack" / "run"), "tools"], env=env, capture_output=True, text=True)

	assert done.returncode == 0, done.stderr
	assert (home / ".cache" / "webview_kit" / "tools" / "bin" / "python").exists()
	uid = pwd.getpwnam(name).pw_uid
	foreign = [str(p) for p in [home, *home.rglob("*")] if p.lstat().st_uid != uid]
	assert foreign == []
