"""The benchmark's hands inside the site: run by the bench's Python, never imported by the harness.

`python inbench.py <site>` (cwd: the bench's sites folder) connects to the site and
answers one JSON command per stdin line with one `@@ {json}` line on stdout, so stray
prints of Frappe never pass for an answer. It uses Frappe's own APIs and webview_kit's
public ones (`publish`, `publish_many`, `auth`), the way an app would.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
import traceback

import frappe

STOCK_PAGE_ROUTE = "bench-live"
STOCK_EVENT = "bench_tick"
PASSWORD = "bench-Password-1"  # loopback-only benchmark users
ISSUER_ROLE = "Webview Issuer"
SESSIONS = 10000  # simultaneous sessions allowed to each benchmark user

# The stock page: a "Web Page" document whose own script follows the stream with
# frappe.realtime.on, applies each value to the DOM and notes when it did.
STOCK_PAGE_HTML = '<p>Count: <output id="bench-count">–</output></p>'
STOCK_PAGE_JS = """
frappe.ready(() => {
	const out = document.getElementById("bench-count");
	window.__bench = window.__bench || [];
	frappe.realtime.on("EVENT", (data) => {
		out.textContent = data.count;
		window.__bench.push([data.count, data.t, performance.timeOrigin + performance.now()]);
	});
});
""".replace("EVENT", STOCK_EVENT)


# The stock side of the actions measure: a Web Page that posts a comment with frappe.call
# and follows the document's room with frappe.realtime.on (webview_kit_demo/stock.py).
STOCK_ACTIONS_ROUTE = "bench-actions"
STOCK_ACTIONS_HTML = """<input id="bench-text"><button id="bench-send" type="button">Comment</button>
<ul id="bench-comments"></ul>"""
STOCK_ACTIONS_JS = """
frappe.ready(() => {
	const query = new URLSearchParams(location.search);
	const [doctype, name] = [query.get("doctype"), query.get("name")];
	window.__seen = {};
	frappe.realtime.on("bench_comment", (data) => {
		const li = document.createElement("li");
		li.textContent = data.text;
		document.getElementById("bench-comments").append(li);
		window.__seen[data.text] = performance.timeOrigin + performance.now();
	});
	frappe.realtime.doc_subscribe(doctype, name);
	document.getElementById("bench-send").addEventListener("click", () => {
		const text = document.getElementById("bench-text").value;
		frappe.call({ method: "webview_kit_demo.stock.add_comment", args: { doctype, name, text } });
	});
});
"""


# The stock side of the fragments measure: a Web Page listing tasks that, on each event,
# re-fetches the list with frappe.call and re-renders it, as a stock page would.
STOCK_LIST_ROUTE = "bench-list"
STOCK_LIST_EVENT = "bench_list"
STOCK_LIST_HTML = '<ul id="bench-rows"></ul>'
STOCK_LIST_JS = """
frappe.ready(() => {
	const doctype = new URLSearchParams(location.search).get("doctype");
	const list = document.getElementById("bench-rows");
	window.__bench = [];
	const item = (row) => {
		const li = document.createElement("li");
		li.textContent = `${row.title} ${row.status} ${row.priority}`;
		return li;
	};
	frappe.realtime.on("EVENT", (data) => {
		frappe.call({
			method: "frappe.client.get_list",
			args: { doctype, fields: ["name", "title", "status", "priority", "modified"], order_by: "modified desc", limit_page_length: 20 },
			callback: (r) => {
				list.replaceChildren(...r.message.map(item));
				window.__bench.push([data.count, data.t, performance.timeOrigin + performance.now()]);
			},
		});
	});
});
""".replace("EVENT", STOCK_LIST_EVENT)


class Commands:
	"""Lines on stdin, read unbuffered so that `select` sees a line the moment it arrives."""

	def __init__(self):
		self.pending = b""

	def readline(self, timeout: float | None = None) -> str | None:
		"""The next line, or None once `timeout` seconds pass without one; EOFError at the end."""
		deadline = None if timeout is None else time.monotonic() + timeout
		while b"\n" not in self.pending:
			wait = None if deadline is None else max(0.0, deadline - time.monotonic())
			if not select.select([0], [], [], wait)[0]:
				return None
			chunk = os.read(0, 65536)
			if not chunk:
				raise EOFError
			self.pending += chunk
		line, _, self.pending = self.pending.partition(b"\n")
		return line.decode()


STDIN = Commands()


def now_ms() -> float:
	return time.time() * 1000


def percentiles(values: list[float]) -> dict:
	ordered = sorted(values)
	if not ordered:
		return {}

	def at(q):
		rank = q * (len(ordered) - 1)
		low = int(rank)
		high = min(low + 1, len(ordered) - 1)
		return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)

	return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "n": len(ordered)}


# -- setup ----------------------------------------------------------------------
def ensure_user(email: str, roles: tuple[str, ...] = (), password: str | None = None) -> None:
	"""Create `email` as the benchmark needs it, once: saving a User costs seconds."""
	from frappe.utils.password import update_password

	ready = frappe.db.get_value("User", email, ["enabled", "simultaneous_sessions"], as_dict=True)
	if ready and ready.enabled and ready.simultaneous_sessions == SESSIONS and not roles:
		return
	if not ready:
		frappe.flags.in_import = True  # Frappe throttles sign-ups; these are not strangers
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": "Bench",
				"send_welcome_email": 0,
				"user_type": "Website User",
				"user_image": "/assets/webview_kit/images/user.svg",  # no gravatar job
			}
		).insert(ignore_permissions=True)
		frappe.flags.in_import = False
	user = frappe.get_doc("User", email)
	missing_roles = set(roles) - set(frappe.get_roles(email))
	if missing_roles:
		user.add_roles(*missing_roles)
	# Many pages and sockets of one user at once; the default would end older sessions.
	if not user.enabled or user.simultaneous_sessions != SESSIONS:
		user.enabled = 1
		user.simultaneous_sessions = SESSIONS
		user.save(ignore_permissions=True)
		if password:
			update_password(email, password)


def api_key(email: str) -> str:
	"""`key:secret` of `email`'s API key, made the first time."""
	from frappe.utils.password import get_decrypted_password

	user = frappe.get_doc("User", email)
	if user.api_key:
		secret = get_decrypted_password("User", email, "api_secret", raise_exception=False)
		if secret:
			return f"{user.api_key}:{secret}"
	user.api_key = user.api_key or frappe.generate_hash(length=15)
	secret = frappe.generate_hash(length=15)
	user.api_secret = secret
	user.save(ignore_permissions=True)
	return f"{user.api_key}:{secret}"


def ensure_stock_page(
	route: str = STOCK_PAGE_ROUTE,
	html: str = STOCK_PAGE_HTML,
	js: str = STOCK_PAGE_JS,
	title: str = "Bench live",
) -> str:
	values = {
		"title": title,
		"route": route,
		"published": 1,
		"content_type": "HTML",
		"main_section_html": html,
		"javascript": js,
	}
	name = frappe.db.get_value("Web Page", {"route": route})
	doc = frappe.get_doc("Web Page", name) if name else frappe.new_doc("Web Page")
	if any(doc.get(key) != value for key, value in values.items()):
		doc.update(values)
		doc.save(ignore_permissions=True)
	return "/" + route


def cmd_setup(users: dict, issuer: str) -> dict:
	"""Users with passwords, an issuer with an API key, the stock page, and no throttles."""
	from frappe.installer import update_site_config

	frappe.set_user("Administrator")
	for email in users.values():
		ensure_user(email, password=PASSWORD)
	ensure_user(issuer, roles=(ISSUER_ROLE,))
	key = api_key(issuer)
	route = ensure_stock_page()
	# The benchmark redeems hundreds of links from one address: lift both throttles for the run.
	restore = {
		"site_config": {"webview_redeem_rate_limit": frappe.conf.get("webview_redeem_rate_limit")},
		"system_settings": {
			"rate_limit_email_link_login": frappe.db.get_single_value(
				"System Settings", "rate_limit_email_link_login"
			)
		},
	}
	update_site_config("webview_redeem_rate_limit", 1_000_000)
	frappe.db.set_single_value("System Settings", "rate_limit_email_link_login", 1_000_000)
	frappe.db.commit()
	import webview_kit

	return {
		"password": PASSWORD,
		"issuer_key": key,
		"stock_route": route,
		"restore": restore,
		"frappe_version": frappe.__version__,
		"webview_kit_version": getattr(webview_kit, "__version__", "?"),
	}


def cmd_restore(restore: dict) -> dict:
	from frappe.installer import update_site_config

	for key, value in restore["site_config"].items():
		update_site_config(key, "None" if value is None else value)
	for key, value in restore["system_settings"].items():
		frappe.db.set_single_value("System Settings", key, value)
	frappe.db.commit()
	return {}


def cmd_actions_setup(clickers: dict, viewers: dict) -> dict:
	"""Per kind, a demo task its clicker may write and its viewer read; the stock actions page."""
	from frappe.share import add_docshare
	from webview_kit_demo.setup import DEMO_DOCTYPE

	frappe.set_user("Administrator")
	for email in [*clickers.values(), *viewers.values()]:
		ensure_user(email, password=PASSWORD)
	tasks = {}
	for kind in clickers:
		doc = frappe.get_doc({"doctype": DEMO_DOCTYPE, "title": f"Benchmark {kind}"}).insert(
			ignore_permissions=True
		)
		flags = {"ignore_share_permission": True}
		add_docshare(DEMO_DOCTYPE, doc.name, clickers[kind], write=1, flags=flags)
		add_docshare(DEMO_DOCTYPE, doc.name, viewers[kind], flags=flags)
		tasks[kind] = doc.name
	route = ensure_stock_page(STOCK_ACTIONS_ROUTE, STOCK_ACTIONS_HTML, STOCK_ACTIONS_JS, "Bench actions")
	frappe.db.commit()
	return {"doctype": DEMO_DOCTYPE, "tasks": tasks, "stock_route": route}


def cmd_actions_cleanup(doctype: str, tasks: dict) -> dict:
	for name in tasks.values():
		frappe.delete_doc(doctype, name, ignore_permissions=True, force=True)
	frappe.db.commit()
	return {}


def cmd_fragments_setup(users: dict, rows: int = 20) -> dict:
	"""`rows` demo tasks shared with every user, and the stock list page."""
	from frappe.share import add_docshare
	from webview_kit_demo.setup import DEMO_DOCTYPE

	frappe.set_user("Administrator")
	tasks = []
	for i in range(rows):
		doc = frappe.get_doc({"doctype": DEMO_DOCTYPE, "title": f"bench row {i}"}).insert(
			ignore_permissions=True
		)
		for user in users.values():
			add_docshare(DEMO_DOCTYPE, doc.name, user, flags={"ignore_share_permission": True})
		tasks.append(doc.name)
	route = ensure_stock_page(STOCK_LIST_ROUTE, STOCK_LIST_HTML, STOCK_LIST_JS, "Bench list")
	frappe.db.commit()
	return {"doctype": DEMO_DOCTYPE, "tasks": tasks, "stock_route": route}


def cmd_row_series(
	kind: str, user: str, doctype: str, tasks: list, count: int, interval: float, start: int = 0
) -> list:
	"""Change one list row `count` times, one every `interval` s; return [i, t_ms] of each.

	webview_kit renders the row and pushes it (publish_fragment, timed from before the
	render); stock saves the title, commits, then tells the page to re-fetch (timed from the
	publish, after the commit: what its page needs is in the database by then).
	"""
	from webview_kit import live
	from webview_kit.fragments import publish_fragment
	from webview_kit.publish import user_room

	title_field, chips = live.list_columns(doctype)
	target, room = live.list_target(doctype), user_room(user)
	sent, began = [], time.monotonic()
	for n in range(count):
		delay = began + n * interval - time.monotonic()
		if delay > 0:
			time.sleep(delay)
		i, name = start + n, tasks[n % len(tasks)]
		if kind == "webview_kit":
			t = now_ms()
			row = {"name": name, "title": f"bench {i} {t}", "status": "Working", "priority": "High"}
			publish_fragment(
				room, target, {"row": row, "title_field": title_field, "chips": chips}, op="prepend"
			)
		else:
			frappe.db.set_value(doctype, name, "title", f"bench {i}")
			frappe.db.commit()
			t = now_ms()
			frappe.publish_realtime(STOCK_LIST_EVENT, {"count": i, "t": t}, user=user)
		sent.append([i, t])
	return sent


# -- links ------------------------------------------------------------------------
def cmd_links(user: str, route: str, count: int, ttl: int = 600, params: dict | None = None) -> list[str]:
	"""Deep links issued in-process (for the measures that only need many of them)."""
	from webview_kit import auth

	frappe.set_user("Administrator")
	urls = [auth.issue_link(user, route, params, ttl=ttl, issuer="benchmark")["url"] for _ in range(count)]
	frappe.db.commit()
	return urls


# -- publishing -------------------------------------------------------------------
def _publisher(kind: str, user: str):
	"""A function publishing `(i)` with a publish timestamp; returns (t, seq or None)."""
	if kind == "webview_kit":
		from webview_kit.publish import EVENT_COUNT, publish, user_room

		room = user_room(user)

		def send(i):
			t = now_ms()
			return t, publish(room, EVENT_COUNT, {"count": i, "t": t})

		return send

	def send_stock(i):
		t = now_ms()
		frappe.publish_realtime(STOCK_EVENT, {"count": i, "t": t}, user=user)
		return t, None

	return send_stock


def cmd_series(kind: str, user: str, count: int, interval: float, start: int = 0) -> list:
	"""Publish `count` values, one every `interval` seconds; return [i, t_ms, seq, call_ms] for each."""
	send = _publisher(kind, user)
	sent = []
	began = time.monotonic()
	for n in range(count):
		delay = began + n * interval - time.monotonic()
		if delay > 0:
			time.sleep(delay)
		sent.append([start + n, *send(start + n), 0.0])
		sent[-1][3] = now_ms() - sent[-1][1]
	return sent


def cmd_stream(kind: str, user: str, interval: float, start: int = 0, limit: float = 600) -> list:
	"""Publish one value every `interval` seconds until a line arrives on stdin (or `limit` s)."""
	send = _publisher(kind, user)
	sent = []
	began = time.monotonic()
	n = 0
	while time.monotonic() - began < limit:
		sent.append([start + n, *send(start + n)])
		n += 1
		delay = max(0.0, began + n * interval - time.monotonic())
		if STDIN.readline(timeout=delay) is not None:
			break
	return sent


def cmd_throughput(kind: str, user: str, seconds: float, batch: int = 1) -> dict:
	"""Publish as fast as one Python process can for `seconds`; return publishes per second."""
	from webview_kit.publish import Event, publish, publish_many, user_room

	room = user_room(user)
	payload = {"value": 0, "label": "throughput"}
	done = 0
	began = time.perf_counter()
	while time.perf_counter() - began < seconds:
		if kind == "stock":
			frappe.publish_realtime("bench_tput", payload, user=user)
			done += 1
		elif batch == 1:
			publish(room, "bench.tput", payload)
			done += 1
		else:
			publish_many([Event(room, "bench.tput", payload) for _ in range(batch)])
			done += batch
	elapsed = time.perf_counter() - began
	return {"events": done, "seconds": elapsed, "per_second": done / elapsed}


# -- tokens -----------------------------------------------------------------------
def _timed(fn, items) -> tuple[list[float], list, float]:
	took, results = [], []
	began = time.perf_counter()
	for item in items:
		start = time.perf_counter()
		results.append(fn(item))
		took.append((time.perf_counter() - start) * 1000)
	return took, results, time.perf_counter() - began


def cmd_tokens(user: str, route: str, count: int) -> dict:
	"""Issue and verify tokens in this process: webview_kit's deep links against Frappe's login links."""
	from urllib.parse import parse_qs, urlsplit

	from frappe.www.login import _generate_temporary_login_link

	from webview_kit import auth, scope

	frappe.set_user("Administrator")

	def issue(_):
		url = auth.issue_link(user, route, ttl=600, issuer="benchmark")["url"]
		frappe.db.commit()  # the issue's audit record is part of issuing
		return parse_qs(urlsplit(url).query)[scope.TOKEN_PARAM][0]

	def stock_issue(_):
		return parse_qs(urlsplit(_generate_temporary_login_link(user, 10)).query)["key"][0]

	def verify(token):
		return auth.redeem(token, route)["user"]

	def stock_verify(key):
		# What login_via_key does before it signs the user in.
		cache_key = f"one_time_login_key:{key}"
		email = frappe.cache.get_value(cache_key)
		frappe.cache.delete_value(cache_key)
		return email

	issue_ms, tokens, _ = _timed(issue, range(count))
	stock_issue_ms, keys, _ = _timed(stock_issue, range(count))
	verify_ms, users, verify_s = _timed(verify, tokens)
	stock_verify_ms, emails, stock_verify_s = _timed(stock_verify, keys)
	assert set(users) == {user} and set(emails) == {user}, (set(users), set(emails))
	frappe.db.commit()
	return {
		"webview_kit": {
			"issue_ms": percentiles(issue_ms),
			"verify_ms": percentiles(verify_ms),
			"verified_per_second": count / verify_s,
		},
		"stock": {
			"issue_ms": percentiles(stock_issue_ms),
			"verify_ms": percentiles(stock_verify_ms),
			"verified_per_second": count / stock_verify_s,
		},
	}


def cmd_stock_links(user: str, count: int) -> list[str]:
	"""Frappe's own one-time login links (what "login with email link" mails)."""
	from frappe.www.login import _generate_temporary_login_link

	return [_generate_temporary_login_link(user, 10) for _ in range(count)]


def cmd_ping() -> dict:
	return {"pid": os.getpid()}


def cmd_history_soak(rooms: int, events: int, size: int, budget_mb: int) -> dict:
	"""Publish `events` rounds of one `size`-byte event to each of `rooms` rooms under a history budget.

	Returns the queue Redis's memory before, at its peak (read after each round) and after,
	what the site's history is counted at, and how many rooms kept history; then forgets
	the rooms and puts the setting back.
	"""
	from webview_kit import publish, settings
	from webview_kit.infra import metrics, queue_redis

	conn = queue_redis.connection()
	setting = ("Webview Settings", "history_budget_mb")
	stored = frappe.db.get_single_value(*setting)
	frappe.db.set_single_value(*setting, budget_mb)
	frappe.db.commit()
	settings.forget_read()
	run = frappe.generate_hash(length=8)
	names = [publish.doc_room("ToDo", f"bench-history-{run}-{n}") for n in range(rooms)]
	evicted = metrics.counts().get("history_rooms_evicted", 0)
	memory = lambda: conn.info("memory")["used_memory"]  # noqa: E731
	before = peak = memory()
	published_bytes = 0
	began = time.monotonic()
	try:
		for n in range(events):
			data = {"n": n, "text": "x" * size}
			for start in range(0, rooms, publish.SCRIPT_BATCH):
				batch = names[start : start + publish.SCRIPT_BATCH]
				publish.publish_many([publish.Event(room, "bench.history", data) for room in batch])
			published_bytes += rooms * len(json.dumps(data))
			peak = max(peak, memory())
		seconds = time.monotonic() - began
		rooms_key, _sizes, total_key = publish._budget_keys()
		result = {
			"rooms": rooms,
			"events": rooms * events,
			"published_mb": published_bytes / 2**20,
			"budget_mb": budget_mb,
			"counted_mb": int(conn.get(total_key) or 0) / 2**20,
			"used_before_mb": before / 2**20,
			"used_peak_mb": peak / 2**20,
			"used_after_mb": memory() / 2**20,
			"rooms_with_history": conn.zcard(rooms_key),
			"rooms_evicted": metrics.counts().get("history_rooms_evicted", 0) - evicted,
			"seconds": seconds,
		}
	finally:
		for room in names:
			publish.forget(room)
		frappe.db.set_single_value(*setting, stored or 0)
		frappe.db.commit()
		settings.forget_read()
	result["used_forgotten_mb"] = memory() / 2**20
	return result


COMMANDS = {
	"ping": cmd_ping,
	"setup": cmd_setup,
	"restore": cmd_restore,
	"links": cmd_links,
	"stock_links": cmd_stock_links,
	"series": cmd_series,
	"stream": cmd_stream,
	"throughput": cmd_throughput,
	"tokens": cmd_tokens,
	"actions_setup": cmd_actions_setup,
	"actions_cleanup": cmd_actions_cleanup,
	"fragments_setup": cmd_fragments_setup,
	"row_series": cmd_row_series,
	"history_soak": cmd_history_soak,
}


def answer(payload: dict) -> None:
	sys.stdout.write("@@ " + json.dumps(payload) + "\n")
	sys.stdout.flush()


def main(site: str) -> None:
	frappe.init(site=site, sites_path=".")
	frappe.connect()
	answer({"ok": {"ready": True}})
	while True:
		try:
			line = STDIN.readline()
		except EOFError:
			break
		if not line.strip():
			continue
		request = json.loads(line)
		try:
			result = COMMANDS[request["cmd"]](**request.get("args", {}))
			frappe.db.commit()
			answer({"ok": result})
		except Exception:
			frappe.db.rollback()
			answer({"error": traceback.format_exc()})
	frappe.destroy()


if __name__ == "__main__":
	main(sys.argv[1])
