"""Where the cached bench lives, who runs it, and the knobs a user may turn.

Every setting comes from an environment variable with a default, so `make`, CI and
the e2e fixture all see the same stack without flags.
"""

import os
import pwd
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _default_bench_user() -> str:
	# `bench init` refuses root, as frappe_docker does we run the bench as `frappe`.
	return "frappe" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


@dataclass(frozen=True)
class Layout:
	"""Paths and settings of one cached stack."""

	bench_user: str = field(default_factory=lambda: os.environ.get("BENCH_USER") or _default_bench_user())
	frappe_repo: str = os.environ.get("FRAPPE_REPO", "https://github.com/frappe/frappe")
	frappe_branch: str = os.environ.get("FRAPPE_BRANCH", "version-15")
	site: str = os.environ.get("WEBVIEW_KIT_SITE", "webview.localhost")
	socketio_servers: int = int(os.environ.get("SOCKETIO_SERVERS", "1"))
	python: str = os.environ.get("BENCH_PYTHON", "/usr/bin/python3")
	cache_override: str | None = os.environ.get("WEBVIEW_KIT_CACHE")
	# Where the front listens (a phone on the same network: 0.0.0.0), and the URL links carry
	# when a tunnel or reverse proxy stands in front of it.
	host: str = os.environ.get("WEBVIEW_KIT_HOST") or "127.0.0.1"
	public_url: str = os.environ.get("WEBVIEW_KIT_PUBLIC_URL", "").rstrip("/")
	# Proxies (addresses or networks) whose X-Forwarded-Proto the front believes; none by default.
	trusted_proxies: str = os.environ.get("WEBVIEW_KIT_TRUSTED_PROXIES", "")

	@property
	def home(self) -> Path:
		return Path(pwd.getpwnam(self.bench_user).pw_dir)

	@property
	def cache(self) -> Path:
		if self.cache_override:
			return Path(self.cache_override).resolve()
		return self.home / ".cache" / "webview_kit"

	@property
	def tools(self) -> Path:
		"""The venv holding frappe-bench and the test tools."""
		return self.cache / "tools"

	@property
	def bench(self) -> Path:
		return self.cache / "frappe-bench"

	@property
	def sites(self) -> Path:
		return self.bench / "sites"

	@property
	def app(self) -> Path:
		return self.bench / "apps" / "webview_kit"

	@property
	def mariadb_data(self) -> Path:
		return self.cache / "mariadb"

	@property
	def run(self) -> Path:
		"""Per-run state: logs, sockets, pid records, rendered configs."""
		return self.cache / "run"

	@property
	def logs(self) -> Path:
		return self.run / "logs"

	@property
	def state_file(self) -> Path:
		return self.run / "state.json"

	@property
	def admin_password_file(self) -> Path:
		"""The site's Administrator password (generated once; `make up` says where it is)."""
		return self.cache / "admin-password"

	@property
	def db_root_password(self) -> str:
		# A private, loopback-only instance: the password only keeps bench's prompts quiet.
		return "webview_kit"
