"""docker/site-setup's decisions, run against a bench folder whose `bench` and `mariadb` record
their calls: what it does to a sites volume in each state it can find one in. That the steps
make a working site is shown by `make up STACK=docker` and the suite on that stack."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from stack.tests.test_docker_static import SITE_SETUP

SITE = "webview.localhost"
DATABASE = "_0123456789abcdef"


class Bench:
	"""A bench folder with one sites volume, and commands that say what was asked of them."""

	def __init__(self, root):
		self.root = root
		self.site = root / "sites" / SITE
		self.site.mkdir(parents=True)
		(root / ".webview_kit-code").write_text("code of this image\n")
		(root / "databases").write_text("information_schema\nmysql\n")
		(root / "secret").write_text("root secret\n")
		bin_dir = root / "bin"
		bin_dir.mkdir()
		self._command(bin_dir / "bench", 'printf "%s\\n" "$*" >> "$BENCH_LOG"')
		self._command(bin_dir / "mariadb", 'cat "$DATABASES"')
		self.env = {
			"PATH": f"{bin_dir}:{os.environ['PATH']}",
			"BENCH_LOG": str(root / "bench.log"),
			"DATABASES": str(root / "databases"),
			"FRAPPE_SITE": SITE,
			"FRAPPE_DB_HOST": "mariadb",
			"FRAPPE_DB_PORT": "3306",
			"DB_ROOT_PASSWORD_FILE": str(root / "secret"),
			"HOST_NAME": "http://127.0.0.1:8080",
		}

	@staticmethod
	def _command(path, body: str) -> None:
		path.write_text(f"#!/bin/sh\n{body}\n")
		path.chmod(0o755)

	def with_a_site(self, code: str = "code of this image\n", database: bool = True) -> Bench:
		(self.site / "site_config.json").write_text(f'{{"db_name": "{DATABASE}"}}')
		(self.site / ".webview_kit-site-ready").write_text("")
		(self.site / ".webview_kit-code").write_text(code)
		(self.root / "sites" / ".admin-password").write_text("made before\n")
		if database:
			with (self.root / "databases").open("a") as databases:
				databases.write(f"{DATABASE}\n")
		return self

	def setup(self, fails: bool = False) -> subprocess.CompletedProcess:
		done = subprocess.run(
			[str(SITE_SETUP)], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=30
		)
		assert (done.returncode != 0) == fails, done.stderr
		return done

	@property
	def log(self) -> str:
		return (self.root / "bench.log").read_text()

	@property
	def asked(self) -> list[str]:
		"""The bench commands, in order: `new-site`, `migrate`, … (after `--site <name>`)."""
		return [
			line.split()[2] if line.startswith("--site") else line.split()[0]
			for line in self.log.splitlines()
		]


@pytest.fixture
def bench(tmp_path) -> Bench:
	return Bench(tmp_path)


def test_an_empty_volume_gets_the_site_and_a_password_only_the_frappe_user_reads(bench):
	bench.setup()

	assert bench.asked == ["new-site", "enable-scheduler", "set-config", "install-app", "set-config"]
	assert "install-app webview_kit_demo webview_kit_testing" in bench.log
	assert (bench.site / ".webview_kit-site-ready").exists()
	password = bench.root / "sites" / ".admin-password"
	assert stat.S_IMODE(password.stat().st_mode) == 0o600 and len(password.read_text().strip()) >= 24


def test_a_site_of_this_image_only_gets_its_url(bench):
	bench.with_a_site().setup()

	assert bench.asked == ["set-config"]


def test_a_site_of_other_code_is_migrated_then_gets_the_extra_apps(bench):
	bench.with_a_site(code="code of the last image\n").setup()

	assert bench.asked == ["migrate", "install-app", "set-config"]
	assert (bench.site / ".webview_kit-code").read_text() == "code of this image\n"


def test_a_site_whose_database_is_gone_is_made_again_and_says_so(bench):
	done = bench.with_a_site(database=False).setup()

	assert bench.asked[0] == "new-site"
	assert "its database is not in MariaDB" in done.stderr


def test_a_database_server_that_does_not_answer_changes_nothing(bench):
	bench.with_a_site()
	Bench._command(bench.root / "bin" / "mariadb", "echo 'ERROR 2002: cannot connect' >&2; exit 1")

	done = bench.setup(fails=True)

	assert "did not list its databases" in done.stderr
	assert not (bench.root / "bench.log").exists(), "no new-site --force over a database that may be there"
	assert (bench.site / ".webview_kit-site-ready").exists()


def test_a_volume_that_lost_its_password_file_gets_a_new_one_set(bench):
	bench.with_a_site()
	(bench.root / "sites" / ".admin-password").unlink()

	bench.setup()

	assert bench.asked == ["set-admin-password", "set-config"]


def test_a_given_password_file_is_used_and_not_rewritten(bench):
	given = bench.root / "admin-secret"
	given.write_text("from a docker secret\n")
	bench.env["ADMIN_PASSWORD_FILE"] = str(given)

	bench.setup()

	assert "--admin-password=from a docker secret" in bench.log
	assert not (bench.root / "sites" / ".admin-password").exists()


def test_a_real_site_gets_neither_the_demo_nor_the_test_app(bench):
	bench.env["WEBVIEW_KIT_EXTRA_APPS"] = ""

	bench.setup()

	assert bench.asked == ["new-site", "enable-scheduler", "set-config"]
	assert "allow_tests" not in bench.log


def test_a_real_site_of_other_code_is_migrated_and_gets_no_extra_app(bench):
	bench.env["WEBVIEW_KIT_EXTRA_APPS"] = ""

	bench.with_a_site(code="code of the last image\n").setup()

	assert bench.asked == ["migrate", "set-config"]
