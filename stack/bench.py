"""Build the cached bench and site once, and keep this checkout's app in them.

A bench is complete only once its marker file is written, so a build that died
half-way is found and rebuilt on the next run instead of being half-trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .layout import REPO, Layout
from .supervisor import StackError, log_tail

BENCH_MARKER = ".webview_kit-bench.json"
SITE_MARKER = ".webview_kit-site-ready"
# public/dist holds the bench's build output, which the copy must keep.
APP_EXCLUDES = (
	".git",
	"__pycache__",
	"*.pyc",
	".pytest_cache",
	".ruff_cache",
	"node_modules",
	"test-results",
	"/webview_kit/public/dist",
	"/apps",  # the demo and test apps, each copied to an apps/ folder of its own
)
# The repo's other Frappe apps (apps/<name>/), copied into the bench beside webview_kit.
# Only the stack's own site installs them (ensure_site); new_site's sites have the product only.
DEMO_APP, TEST_APP = "webview_kit_demo", "webview_kit_testing"
EXTRA_APPS = (DEMO_APP, TEST_APP)


def _as_user(layout: Layout, env: dict | None) -> dict:
	"""Popen arguments that run a command as the bench user with the bench on PATH."""
	user = pwd.getpwnam(layout.bench_user)
	full_env = {
		**os.environ,  # proxies and CA bundles of the caller's network
		"PATH": f"{layout.tools / 'bin'}:{layout.bench / 'env' / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME": user.pw_dir,
		"LANG": "C.UTF-8",
		**(env or {}),
	}
	identity = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if os.geteuid() == 0 else {}
	return {"env": full_env, "stdin": subprocess.DEVNULL, **identity}


def run_logged(
	layout: Layout, argv: list[str], step: str, cwd: Path, env: dict | None = None, show: bool = False
) -> None:
	"""Run `argv` as the bench user, logging to a file and showing progress while it runs.

	With `show`, the output goes to the terminal instead (for commands that print results).
	"""
	log = layout.logs / f"{step}.log"
	as_bench_user(layout, log.parent)
	started = time.monotonic()
	if show:
		completed = subprocess.run(argv, cwd=cwd, **_as_user(layout, env))
		if completed.returncode != 0:
			raise StackError(f"{step} failed (exit {completed.returncode}); its output is above.")
		return
	with open(log, "wb") as out:
		process = subprocess.Popen(
			argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, **_as_user(layout, env)
		)
		_show_progress(step, process, log, started)
	if process.returncode != 0:
		raise StackError(f"{step} failed (exit {process.returncode}).\n--- {log} ---\n{log_tail(log)}")
	print(f"  {step}: done in {time.monotonic() - started:.0f}s", flush=True)


def _show_progress(step: str, process: subprocess.Popen, log: Path, started: float) -> None:
	from rich.console import Console

	console = Console(stderr=True)
	if not console.is_terminal:
		print(f"  {step}: running (log: {log})", flush=True)
		process.wait()
		return
	with console.status(step) as status:
		while process.poll() is None:
			last = log_tail(log, 1)[-90:]
			status.update(f"{step} [{time.monotonic() - started:.0f}s] {last}")
			time.sleep(0.5)


def as_bench_user(layout: Layout, path: Path) -> None:
	"""Create `path` (and its missing parents) owned by the bench user: the stack never runs as root."""
	missing = [p for p in (path, *path.parents) if not p.exists()]
	path.mkdir(parents=True, exist_ok=True)
	if os.geteuid() == 0:
		user = pwd.getpwnam(layout.bench_user)
		for created in missing:
			os.chown(created, user.pw_uid, user.pw_gid)


def bench_marker(layout: Layout) -> dict:
	return {"frappe_repo": layout.frappe_repo, "frappe_branch": layout.frappe_branch, "python": layout.python}


def ensure_bench(layout: Layout) -> None:
	"""Build the bench with `bench init` unless a complete one for the same Frappe is cached."""
	marker = layout.bench / BENCH_MARKER
	if marker.exists() and json.loads(marker.read_text()) == bench_marker(layout):
		return
	if layout.bench.exists():
		print(f"Removing an incomplete or different bench at {layout.bench} and rebuilding it.", flush=True)
		shutil.rmtree(layout.bench)
		shutil.rmtree(layout.mariadb_data, ignore_errors=True)
	as_bench_user(layout, layout.cache)
	print(
		f"Building the bench in {layout.bench} (Frappe {layout.frappe_branch}); this takes a few minutes once."
	)
	run_logged(
		layout,
		[
			str(layout.tools / "bin" / "bench"),
			"init",
			"--frappe-path",
			layout.frappe_repo,
			"--frappe-branch",
			layout.frappe_branch,
			"--python",
			layout.python,
			"--no-backups",
			"--no-procfile",
			"--skip-redis-config-generation",
			layout.bench.name,
		],
		"bench-init",
		cwd=layout.cache,
	)
	# Frappe v15 still imports pkg_resources, which setuptools 81 removed.
	run_logged(
		layout,
		[str(layout.bench / "env/bin/pip"), "install", "setuptools<81"],
		"bench-setuptools",
		layout.bench,
	)
	marker.write_text(json.dumps(bench_marker(layout)))


def _tree_digest(root: Path) -> str:
	"""A digest of the sources under `root`, ignoring build output and bytecode."""
	digest = hashlib.sha256()
	skip = {"dist", "__pycache__", "node_modules"}
	for path in sorted(
		p for p in root.rglob("*") if p.is_file() and not skip & set(p.relative_to(root).parts)
	):
		digest.update(str(path.relative_to(root)).encode())
		digest.update(path.read_bytes())
	return digest.hexdigest()


@dataclass(frozen=True)
class AppChanges:
	code: bool
	assets: bool


def sync_app(layout: Layout) -> AppChanges:
	"""Copy this checkout into the bench's apps/ and install it; say what changed since last time.

	A copy, not a symlink: the bench user may not be able to read the checkout's
	folder, and two checkouts sharing one cache must not fight over a link.
	"""
	_copy_app(layout, REPO, layout.app, "webview_kit", extra=("hypothesis~=6.100",))
	for name in EXTRA_APPS:
		_copy_app(layout, REPO / "apps" / name, layout.bench / "apps" / name, name)
	browser_deps_changed = _install_browser_deps(layout)
	public = layout.app / "webview_kit" / "public"
	assets_changed = _remember_digest(layout.bench / ".webview_kit-assets", _tree_digest(public))
	code_changed = _remember_digest(
		layout.bench / ".webview_kit-code", _code_digest(layout.app, layout.bench / "apps")
	)
	assets_changed = assets_changed or browser_deps_changed or not (public / "dist").exists()
	return AppChanges(code=code_changed, assets=assets_changed)


def _copy_app(layout: Layout, source: Path, target: Path, name: str, extra: tuple[str, ...] = ()) -> None:
	"""Copy app `name` from `source` to the bench's `target`, pip-install it when its pyproject
	changed, and list it in sites/apps.txt."""
	excludes = [f"--exclude={pattern}" for pattern in APP_EXCLUDES]
	as_bench_user(layout, target)
	subprocess.run(
		["rsync", "-a", "--delete", "--chmod=u+rwX,go+rX", *excludes, f"{source}/", f"{target}/"],
		check=True,
	)
	if os.geteuid() == 0:
		subprocess.run(["chown", "-R", f"{layout.bench_user}:", str(target)], check=True)
	# Reinstall when the app's dependencies may have changed.
	installed = layout.bench / "env" / f".{name}-installed"
	wanted = hashlib.sha256((target / "pyproject.toml").read_bytes()).hexdigest()
	if not installed.exists() or installed.read_text() != wanted:
		run_logged(
			layout,
			[str(layout.bench / "env/bin/pip"), "install", "-e", str(target), *extra],
			f"app-install-{name}",
			layout.bench,
		)
		installed.write_text(wanted)
	apps_txt = layout.sites / "apps.txt"
	if name not in apps_txt.read_text().split():
		with open(apps_txt, "a") as handle:
			handle.write(f"\n{name}")


def _code_digest(root: Path, apps: Path) -> str:
	"""A digest of webview_kit's package under `root` and of the repo's other apps' under `apps`."""
	roots = [root / "webview_kit", *(apps / name / name for name in EXTRA_APPS)]
	return hashlib.sha256("".join(_tree_digest(path) for path in roots).encode()).hexdigest()


def _install_browser_deps(layout: Layout) -> bool:
	"""Install the app's npm dependencies (package.json, yarn.lock) when they changed, as
	`bench get-app` would; `bench build` bundles them. Say whether it did."""
	lock = layout.app / "yarn.lock"
	digest = hashlib.sha256((layout.app / "package.json").read_bytes() + lock.read_bytes()).hexdigest()
	stored = layout.app / "node_modules" / ".webview_kit-deps"
	if stored.exists() and stored.read_text() == digest:
		return False
	run_logged(
		layout,
		["yarn", "install", "--frozen-lockfile", "--production", "--non-interactive"],
		"app-yarn-install",
		layout.app,
	)
	stored.write_text(digest)
	return True


def app_is_current(layout: Layout) -> bool:
	"""Whether the bench runs this checkout's app code as it is now."""
	stored = layout.bench / ".webview_kit-code"
	return stored.exists() and stored.read_text() == _code_digest(REPO, REPO / "apps")


def _remember_digest(path: Path, digest: str) -> bool:
	"""Store `digest` at `path`; return whether it differs from what was there."""
	changed = not path.exists() or path.read_text() != digest
	path.write_text(digest)
	return changed


def build_assets(layout: Layout, env: dict) -> None:
	run_logged(
		layout,
		[str(layout.tools / "bin" / "bench"), "build", "--app", "webview_kit"],
		"bench-build",
		layout.bench,
		env,
	)


def _frappe_argv(layout: Layout, *args: str) -> list[str]:
	"""A `bench` Frappe command, run the way bench runs it, without going through the bench CLI."""
	return [str(layout.bench / "env/bin/python"), "-m", "frappe.utils.bench_helper", "frappe", *args]


def _site_argv(layout: Layout, args: list[str], site: str | None = None) -> list[str]:
	return _frappe_argv(layout, "--site", site or layout.site, *args)


def site_command(layout: Layout, args: list[str], step: str, env: dict, show: bool = False) -> None:
	"""Run a Frappe site command the way bench does, without going through the bench CLI."""
	run_logged(layout, _site_argv(layout, args), step, layout.sites, env, show)


def site_output(layout: Layout, args: list[str], env: dict, site: str | None = None) -> str:
	"""Run a site command (of `site`, default the stack's) and return its stdout; StackError if it fails."""
	done = subprocess.run(
		_site_argv(layout, args, site),
		cwd=layout.sites,
		capture_output=True,
		text=True,
		**_as_user(layout, env),
	)
	if done.returncode != 0:
		raise StackError(f"`{' '.join(args)}` failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
	return done.stdout


def site_process(layout: Layout, args: list[str], env: dict, log: Path) -> subprocess.Popen:
	"""Start a site command whose stdin the caller writes to; output goes to `log`."""
	popen_args = {**_as_user(layout, env), "stdin": subprocess.PIPE}
	with open(log, "ab") as out:
		return subprocess.Popen(
			_site_argv(layout, args), cwd=layout.sites, stdout=out, stderr=subprocess.STDOUT, **popen_args
		)


def ensure_site(layout: Layout, env: dict, code_changed: bool) -> None:
	"""Create the site with webview_kit, the demo and the test app unless a complete one exists;
	migrate it if the apps changed."""
	site_dir = layout.sites / layout.site
	if (site_dir / SITE_MARKER).exists():
		if code_changed:
			site_command(layout, ["migrate", "--skip-search-index"], "site-migrate", env)
			# A no-op once installed; a site made before the demo was an app of its own gets them.
			site_command(layout, ["install-app", *EXTRA_APPS], "demo-install", env)
		if not layout.admin_password_file.exists():
			site_command(layout, ["set-admin-password", admin_password(layout)], "admin-password", env)
		return
	print(f"Creating site {layout.site}; this takes about a minute once.", flush=True)
	new_site(layout, env, layout.site, "site-create")
	config = site_dir / "site_config.json"
	settings = json.loads(config.read_text())
	settings.update({"allow_tests": True})
	config.write_text(json.dumps(settings, indent=1))
	site_command(layout, ["enable-scheduler"], "scheduler-enable", env)
	site_command(layout, ["install-app", *EXTRA_APPS], "demo-install", env)
	(site_dir / SITE_MARKER).write_text("")


def new_site(layout: Layout, env: dict, site: str, step: str) -> None:
	"""`bench new-site` of `site` with webview_kit alone installed (the product, no demo)."""
	argv = _frappe_argv(
		layout,
		"new-site",
		site,
		"--force",
		"--db-root-username=root",
		f"--db-root-password={layout.db_root_password}",
		f"--admin-password={admin_password(layout)}",
		"--mariadb-user-host-login-scope=%",
		"--install-app=webview_kit",
	)
	run_logged(layout, argv, step, layout.sites, env)


def drop_site(layout: Layout, env: dict, site: str, step: str) -> None:
	root = ("--db-root-username=root", f"--db-root-password={layout.db_root_password}")
	argv = _frappe_argv(layout, "drop-site", site, "--force", "--no-backup", *root)
	run_logged(layout, argv, step, layout.sites, env)


def admin_password(layout: Layout) -> str:
	"""The site's Administrator password: made once per cache, kept readable by its owner only."""
	path = layout.admin_password_file
	if not path.exists():
		path.write_text(secrets.token_urlsafe(18))
		path.chmod(0o600)
		if os.geteuid() == 0:
			user = pwd.getpwnam(layout.bench_user)
			os.chown(path, user.pw_uid, user.pw_gid)
	return path.read_text().strip()
