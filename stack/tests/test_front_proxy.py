"""The front's own rules, on a real nginx running the rendered template: what it logs, whom it believes.

nginx runs `stack/nginx/webview_kit.conf.template` as the native launcher renders it (the
Docker front renders the same file), in front of a stub upstream that answers every request
with the headers it was sent. Clients connect from two loopback addresses: 127.0.0.1 is an
ordinary client, 127.0.0.2 the trusted proxy (a TLS tunnel's end) when one is configured.
"""

from __future__ import annotations

import http.client
import http.server
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import port_for
import pytest

from stack.native import NGINX_MAIN, render_nginx, trusted_proxy_entries
from stack.services import Endpoint, Endpoints
from stack.supervisor import StackError

CLIENT = "127.0.0.1"
PROXY = "127.0.0.2"
TOKEN = "wvt-secret-token-0123456789abcdef"
READY_TIMEOUT = 20

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")


class EchoHeaders(http.server.BaseHTTPRequestHandler):
	"""Answer 200 with the request's headers as JSON: the upstream sees what the front sent."""

	def do_GET(self) -> None:
		body = json.dumps(dict(self.headers.items())).encode()
		self.send_response(200)
		self.send_header("Content-Type", "application/json")
		self.send_header("Content-Length", str(len(body)))
		self.end_headers()
		self.wfile.write(body)

	def log_message(self, *args) -> None:
		pass


class Front:
	"""A real nginx on the rendered template, and a client that connects from a chosen address."""

	def __init__(self, root: Path, trusted_proxies: str):
		self.upstream = http.server.ThreadingHTTPServer((CLIENT, 0), EchoHeaders)
		threading.Thread(target=self.upstream.serve_forever, daemon=True).start()
		up = Endpoint(CLIENT, self.upstream.server_address[1])
		self.port = port_for.select_random()
		front = Endpoint("0.0.0.0", self.port)
		ep = Endpoints(
			bind=CLIENT, mariadb=up, redis_cache=up, redis_queue=up, web=up, socketio=(up,), front=front
		)
		run, logs = root / "run", root / "logs"
		for folder in (run / "nginx", logs):
			folder.mkdir(parents=True)
		self.access_log = logs / "nginx-access.log"
		(run / "webview_kit.conf").write_text(
			render_nginx(ep, "site.test", root, str(self.access_log), trusted_proxies)
		)
		main = NGINX_MAIN.format(run=run, logs=logs, workers=1, nofile=1024, connections=512)
		(run / "nginx.conf").write_text(main)
		self.error_log = logs / "nginx-error.log"
		self.requests = 0
		argv = ["nginx", "-p", str(run / "nginx"), "-c", str(run / "nginx.conf"), "-e", str(self.error_log)]
		self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
		self._wait_ready()

	def _wait_ready(self) -> None:
		deadline = time.monotonic() + READY_TIMEOUT
		while True:
			try:
				self.get("/api/method/ping")
				return
			except OSError:
				if self.process.poll() is not None or time.monotonic() > deadline:
					errors = self.error_log.read_text() if self.error_log.exists() else ""
					raise AssertionError(f"nginx did not answer: {errors}") from None
				time.sleep(0.05)

	def get(self, path: str, source: str = CLIENT, **headers: str) -> tuple[int, dict]:
		"""GET `path` from address `source`; the status and, when proxied, the headers the upstream got."""
		connection = http.client.HTTPConnection(CLIENT, self.port, timeout=10, source_address=(source, 0))
		self.requests += 1
		headers = {"Host": f"phone.test:{self.port}", "User-Agent": f"request-{self.requests}", **headers}
		try:
			connection.request("GET", path, headers=headers)
			response = connection.getresponse()
			body = response.read()
		finally:
			connection.close()
		proxied = response.status == 200 and response.getheader("Content-Type") == "application/json"
		return response.status, json.loads(body) if proxied else {}

	def logged(self) -> str:
		"""The access log, once it has a line for every request made so far.

		nginx writes a request's line after the response went out, so a client that has read
		the response may be ahead of the log: each request carries its number as its user agent.
		"""
		deadline = time.monotonic() + READY_TIMEOUT
		while f'"request-{self.requests}"' not in self.access_log.read_text():
			assert time.monotonic() < deadline, f"no log line for request {self.requests}"
			time.sleep(0.02)
		return self.access_log.read_text()

	def stop(self) -> None:
		self.process.terminate()
		self.process.wait(timeout=10)
		self.upstream.shutdown()


@pytest.fixture
def front(tmp_path):
	started = Front(tmp_path, trusted_proxies="")
	yield started
	started.stop()


@pytest.fixture
def front_behind_proxy(tmp_path):
	started = Front(tmp_path, trusted_proxies=PROXY)
	yield started
	started.stop()


# -- the access log -------------------------------------------------------------


@pytest.mark.parametrize(
	"path, logged",
	[
		(f"/webview/count?wvt={TOKEN}", "/webview/count"),
		(f"/webview/document?doctype=ToDo&wvt={TOKEN}&name=x", "/webview/document"),
		(f"/api/method/ping?wvt={TOKEN}", "/api/method/ping"),
		(f"/api/method/ping?a=1&wvt={TOKEN}", "/api/method/ping"),
	],
)
def test_a_deep_links_token_never_reaches_the_access_log(front, path, logged):
	front.get(path)

	line = front.logged().splitlines()[-1]
	assert f'"GET {logged} HTTP/1.1"' in line
	assert TOKEN not in front.logged()


def test_a_referer_carrying_a_token_is_logged_without_its_query(front):
	front.get("/assets/x.css", Referer=f"http://phone.test/webview/count?wvt={TOKEN}")
	front.get("/api/method/ping", Referer=f"http://phone.test/app?wvt={TOKEN}")

	assert TOKEN not in front.logged()
	assert '"http://phone.test/webview/count"' in front.logged()


def test_other_requests_keep_their_query_in_the_log(front):
	front.get("/api/method/frappe.client.get_count?doctype=User")

	assert '"GET /api/method/frappe.client.get_count?doctype=User HTTP/1.1"' in front.logged()


# -- the scheme behind a TLS proxy ----------------------------------------------

SOCKET = "/socket.io/?EIO=4&transport=polling"


def test_without_a_trusted_proxy_an_https_origin_is_refused_even_with_a_forwarded_proto(front):
	origin = f"https://phone.test:{front.port}"

	assert front.get(SOCKET, Origin=origin)[0] == 403
	assert front.get(SOCKET, Origin=origin, **{"X-Forwarded-Proto": "https"})[0] == 403
	assert front.get(SOCKET, source=PROXY, Origin=origin, **{"X-Forwarded-Proto": "https"})[0] == 403


def test_an_untrusted_clients_forged_forwarded_proto_changes_nothing(front_behind_proxy):
	origin = f"http://phone.test:{front_behind_proxy.port}"
	forged = {"X-Forwarded-Proto": "https"}

	assert front_behind_proxy.get(SOCKET, Origin=origin, **forged)[0] == 200
	assert front_behind_proxy.get(SOCKET, Origin=origin.replace("http:", "https:"), **forged)[0] == 403
	status, upstream = front_behind_proxy.get("/api/method/ping", **forged)
	assert status == 200 and upstream["X-Forwarded-Proto"] == "http"


def test_a_trusted_proxys_forwarded_proto_is_the_scheme_the_origin_check_uses(front_behind_proxy):
	origin = f"https://phone.test:{front_behind_proxy.port}"
	tls = {"X-Forwarded-Proto": "https"}

	assert front_behind_proxy.get(SOCKET, source=PROXY, Origin=origin, **tls)[0] == 200
	assert (
		front_behind_proxy.get(SOCKET, source=PROXY, Origin=origin.replace("https:", "http:"), **tls)[0]
		== 403
	)
	assert front_behind_proxy.get(SOCKET, source=PROXY, Origin="https://evil.test", **tls)[0] == 403
	status, upstream = front_behind_proxy.get("/api/method/ping", source=PROXY, **tls)
	assert status == 200 and upstream["X-Forwarded-Proto"] == "https"


def test_a_trusted_proxy_cannot_claim_a_scheme_other_than_http_or_https(front_behind_proxy):
	status, upstream = front_behind_proxy.get(
		"/api/method/ping", source=PROXY, **{"X-Forwarded-Proto": "javascript"}
	)
	assert status == 200 and upstream["X-Forwarded-Proto"] == "http"


@pytest.mark.parametrize("proxies", ["10.0.0.5 nonsense", "10.0.0.0/40", "example.test"])
def test_a_bad_trusted_proxy_setting_is_refused_with_its_name(proxies):
	with pytest.raises(StackError, match="WEBVIEW_KIT_TRUSTED_PROXIES"):
		trusted_proxy_entries(proxies)
