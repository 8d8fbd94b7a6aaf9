"""Attacks on a deep-link session, sent as an intruder would, through Frappe's whole WSGI app.

Each test holds a session redeemed for one page and sends the request that should get past
a guard: another page, another room, another method, another user, oversized input. Every
one must be refused with a clear message, no traceback, and nothing changed.
"""

import base64
import hashlib
import json
import re
import socket
import threading
from urllib.parse import urlsplit

import frappe
from frappe.share import add_docshare
from webview_kit_demo.setup import DEMO_DOCTYPE

from webview_kit import auth, presence, renderer, scope
from webview_kit.infra import compat, health
from webview_kit.publish import doc_room, room_head, user_room
from webview_kit.settings import DOCTYPE as SETTINGS
from webview_kit.tests.support import ensure_demo, ensure_user, session_data, sessions_of
from webview_kit.tests.test_requests import READER, ROUTE, RequestTestCase, set_cookies

LIST = "/webview/list"
ISSUER = "wvk-attack-issuer@example.com"
DESK_USER = "wvk-attack-desk@example.com"


def page_config(html: str) -> dict:
	"""The config a webview page renders for its script."""
	config = re.search(r'<script type="application/json" id="wvk-config">(.*?)</script>', html, re.S)
	return json.loads(config.group(1))


def message(response) -> str:
	"""The text of the messages a refusal carries for the caller."""
	body = response.json if response.is_json else {}
	return " ".join(json.loads(m)["message"] for m in json.loads(body.get("_server_messages") or "[]"))


def sha256_source(text: str) -> str:
	"""A content security policy's source allowing exactly `text`."""
	return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


class AttackTestCase(RequestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_demo()
		ensure_user(ISSUER, roles=("Webview Issuer",))
		ensure_user(DESK_USER, roles=("System Manager",))

	def setUp(self):
		super().setUp()
		self.readable = self.task(shared_with=READER)
		self.unreadable = self.task()

	def task(self, shared_with: str | None = None) -> str:
		doc = frappe.get_doc({"doctype": DEMO_DOCTYPE, "title": "Attack target"}).insert(
			ignore_permissions=True
		)
		if shared_with:
			add_docshare(DEMO_DOCTYPE, doc.name, shared_with, flags={"ignore_share_permission": True})
		frappe.db.commit()
		self.addCleanup(frappe.delete_doc, DEMO_DOCTYPE, doc.name, ignore_permissions=True, force=True)
		return doc.name

	def count_session(self) -> str:
		"""Sign in by a link for the count page, render it once; return the page's CSRF token."""
		self.sign_in_by_link()
		page = self.get(ROUTE)
		self.assertEqual(page.status_code, 200)
		return page_config(page.text)["csrf_token"]

	def post(self, path: str, csrf: str, **data):
		return self.get(path, method="POST", json=data, headers={"X-Frappe-CSRF-Token": csrf})

	def assert_refused(self, response, status: int = 403) -> None:
		self.assertEqual(response.status_code, status, msg=response.text[:300])
		self.assertNotIn("Traceback", response.text)
		body = response.json if response.is_json else {}
		self.assertNotIn("exc", body)
		self.assertNotIn("exception", body)


class TestScopeGuard(AttackTestCase):
	def test_a_json_body_cannot_hide_the_token_from_the_guard(self):
		self.count_session()
		body = json.dumps({"doctype": DEMO_DOCTYPE})
		headers = {"Content-Type": "application/json"}
		response = self.get(f"{LIST}?{scope.TOKEN_PARAM}=x", data=body, headers=headers)
		self.assertNotIn("data-live-list", response.text)
		self.assertEqual(response.status_code, 401, msg="the renderer refuses `x` as a link")
		self.assertIn('data-link-error="malformed"', response.text)

	def test_a_post_with_the_pages_csrf_token_cannot_reach_another_page(self):
		csrf = self.count_session()
		response = self.post(f"{LIST}?{scope.TOKEN_PARAM}=x", csrf, doctype=DEMO_DOCTYPE)
		self.assert_refused(response)

	def test_cmd_is_refused_from_query_form_and_json_whatever_its_value(self):
		csrf = self.count_session()
		csrf_header = {"X-Frappe-CSRF-Token": csrf}
		cases = [
			("query", lambda: self.get(f"{ROUTE}?cmd=frappe.client.get_count&doctype=User")),
			("form", lambda: self.get(ROUTE, method="POST", data={"cmd": "ping"}, headers=csrf_header)),
			("json", lambda: self.post(ROUTE, csrf, cmd="frappe.client.get_count", doctype="User")),
			("json, falsy", lambda: self.post(ROUTE, csrf, cmd="")),
			("json, zero", lambda: self.post(ROUTE, csrf, cmd=0)),
			("json, list", lambda: self.post(ROUTE, csrf, cmd=["frappe.client.get_count"])),
			("allowed path", lambda: self.post("/api/method/ping", csrf, cmd="frappe.client.get_count")),
		]
		for label, send in cases:
			with self.subTest(label):
				self.assert_refused(send())

	def test_path_variants_of_other_pages_and_methods_are_refused(self):
		self.count_session()
		for path in (
			"/api/method/frappe.client.get_count/?doctype=User",
			"/api/v1/method/frappe.client.get_count?doctype=User",
			"/api/v2/method/frappe.client.get_count?doctype=User",
			"/api/v2/document/User",
			"/app",
			"/desk",
			"/printview?doctype=User&name=Administrator",
			"/private/files/secret.pdf",
			"/assets/../webview/list",
			"/webview/count/../list",
			"//webview/list",
		):
			with self.subTest(path):
				self.assert_refused(self.get(path))
		self.assertEqual(self.logged_user(), READER, msg="refusals do not end the session")

	def test_an_expired_session_is_ended(self):
		self.count_session()
		sid = self.client.get_cookie("sid").value
		data = session_data(sid)
		data[scope.SESSION_KEY]["expires"] = 1.0
		frappe.db.sql(
			"update tabSessions set sessiondata = %s where sid = %s", (compat.session_data_text(data), sid)
		)
		frappe.db.commit()
		frappe.cache.hdel("session", sid)
		self.assert_refused(self.get(ROUTE), 401)
		self.assertNotIn(sid, sessions_of(READER))


class TestRooms(AttackTestCase):
	def test_catch_up_is_refused_for_a_readable_room_the_page_did_not_declare(self):
		self.count_session()
		response = self.get(f"/api/method/webview_kit.api.catch_up?room=doc:{DEMO_DOCTYPE}/{self.readable}")
		self.assert_refused(response)
		own = self.get(f"/api/method/webview_kit.api.catch_up?room={user_room(READER)}&after=0")
		self.assertEqual(own.status_code, 200)

	def test_the_socket_servers_subscribe_callbacks_refuse_rooms_outside_the_page(self):
		self.count_session()
		base = "/api/method/frappe.realtime"
		for path in (
			f"{base}.can_subscribe_doc?doctype={DEMO_DOCTYPE}&docname={self.readable}",
			f"{base}.can_subscribe_doctype?doctype={DEMO_DOCTYPE}",
			f"{base}.can_subscribe_doctype?doctype=User",
		):
			with self.subTest(path):
				self.assert_refused(self.get(path))

	def test_a_document_page_session_subscribes_to_its_own_document_only(self):
		link = urlsplit(auth.issue_link(READER, "/webview/document", {"name": self.readable})["url"])
		frappe.db.commit()
		self.assertEqual(self.get(f"{link.path}?{link.query}").status_code, 303)
		self.assertEqual(self.get(f"/webview/document?name={self.readable}").status_code, 200)
		base = "/api/method/frappe.realtime.can_subscribe_doc"
		ok = self.get(f"{base}?doctype={DEMO_DOCTYPE}&docname={self.readable}")
		self.assertEqual(ok.status_code, 200, msg=ok.text[:300])
		other = self.task(shared_with=READER)
		self.assert_refused(self.get(f"{base}?doctype={DEMO_DOCTYPE}&docname={other}"))
		self.assert_refused(self.get(f"/webview/document?name={other}"), 403)

	def test_catch_up_after_a_position_no_room_can_reach_is_refused_with_a_reason(self):
		self.count_session()
		for after in ("-5", str(2**63), "9" * 30):
			with self.subTest(after=after[:8]):
				url = f"/api/method/webview_kit.api.catch_up?room={user_room(READER)}&after={after}"
				response = self.get(url)
				self.assert_refused(response, 417)
				self.assertIn("after must be a sequence number", message(response))

	def test_a_call_missing_an_argument_is_refused_with_its_name(self):
		csrf = self.count_session()
		joined = self.post("/api/method/webview_kit.api.presence_join", csrf)
		self.assert_refused(joined, 417)
		self.assertIn("'client'", message(joined))
		caught_up = self.get("/api/method/webview_kit.api.catch_up")
		self.assert_refused(caught_up, 417)
		self.assertIn("'room'", message(caught_up))

	def test_action_arguments_that_are_not_json_are_refused_with_a_reason(self):
		csrf = self.count_session()
		for args in ("{not json", "x" * 100_000):
			with self.subTest(args=args[:8]):
				response = self.post(
					"/api/method/webview_kit.api.act", csrf, action="a", id="b" * 16, args=args
				)
				self.assert_refused(response, 400)
				self.assertIn("Arguments must be an object", message(response))

	def test_presence_leave_tells_nothing_about_a_room_the_session_cannot_follow(self):
		csrf = self.count_session()
		room = doc_room(DEMO_DOCTYPE, self.unreadable)
		for method in ("presence_join", "presence_leave"):
			with self.subTest(method):
				response = self.post(f"/api/method/webview_kit.api.{method}", csrf, client="a" * 8, room=room)
				self.assert_refused(response)
				self.assertNotIn(READER, response.text)
		self.assertFalse(frappe.cache.exists(*presence._room_keys(room)))

	def test_overlong_and_malformed_rooms_get_a_clear_error(self):
		csrf = self.count_session()
		for room in ("user:" + "x" * 300, "doc:ToDo", "lobby", "user:a\nb"):
			with self.subTest(room=room[:20]):
				response = self.post(
					"/api/method/webview_kit.api.presence_leave", csrf, client="a" * 8, room=room
				)
				self.assertIn(response.status_code, (403, 417))
				self.assertNotIn("Traceback", response.text)
		self.assertFalse(frappe.cache.keys(frappe.cache.make_key("webview_kit:presence:room:user:xxxx*")))


class TestIssuing(AttackTestCase):
	def setUp(self):
		super().setUp()
		self.issuer_key = self.api_key(ISSUER)

	def api_key(self, user: str) -> str:
		from webview_kit_demo.users import new_api_key

		return new_api_key(user)

	def issue_as(self, key: str, **data):
		return self.get(
			"/api/method/webview_kit.api.issue_link",
			method="POST",
			data=data,
			headers={"Authorization": f"token {key}"},
		)

	def test_no_link_is_issued_for_administrator(self):
		for key in (self.issuer_key, self.api_key(DESK_USER)):
			with self.subTest(key=key[:4]):
				self.assert_refused(self.issue_as(key, user="Administrator", route=ROUTE))

	def test_a_system_user_gets_a_link_only_from_a_system_manager(self):
		self.assert_refused(self.issue_as(self.issuer_key, user=DESK_USER, route=ROUTE))
		manager = ensure_user("wvk-attack-manager@example.com", roles=("System Manager",))
		response = self.issue_as(self.api_key(manager), user=DESK_USER, route=ROUTE)
		self.assertEqual(response.status_code, 200, msg=response.text[:300])

	def test_link_roles_setting_limits_who_links_are_for(self):
		self.set_setting(link_roles="Webview Issuer")
		self.assert_refused(self.issue_as(self.issuer_key, user=READER, route=ROUTE))
		self.assertEqual(self.issue_as(self.issuer_key, user=ISSUER, route=ROUTE).status_code, 200)

	def test_a_link_asked_for_without_a_route_is_refused_with_its_name(self):
		response = self.issue_as(self.issuer_key, user=READER)
		self.assert_refused(response, 417)
		self.assertIn("'route'", message(response))

	def test_an_oversized_device_is_refused(self):
		response = self.issue_as(self.issuer_key, user=READER, route=ROUTE, device="x" * 200_000)
		self.assert_refused(response, 417)
		self.assertIn("device", response.text)

	def test_issuing_is_rate_limited_per_issuer(self):
		self.set_setting(issue_rate_limit=3)
		statuses = [self.issue_as(self.issuer_key, user=READER, route=ROUTE).status_code for _ in range(5)]
		self.assertEqual(statuses[-1], 429)
		self.assertLessEqual(statuses.count(200), 3)

	def set_setting(self, **values) -> None:
		settings = frappe.get_single(SETTINGS)
		before = {name: settings.get(name) for name in values}
		settings.update(values)
		settings.save(ignore_permissions=True)
		frappe.db.commit()

		def restore():
			settings = frappe.get_single(SETTINGS)
			settings.update(before)
			settings.save(ignore_permissions=True)
			frappe.db.commit()

		self.addCleanup(restore)


class TestLinksAndPages(AttackTestCase):
	def test_head_does_not_redeem_a_link(self):
		token = self.issue()
		head = self.open_link(token, method="HEAD")
		self.assertNotEqual(head.status_code, 303)
		self.assertNotIn("sid", {k for k, v in set_cookies(head).items() if v.value != "Guest"})
		self.assertEqual(self.open_link(token).status_code, 303, msg="the link still opens afterwards")

	def test_a_webview_page_is_never_cached_and_runs_no_injected_script(self):
		self.count_session()
		page = self.get(ROUTE)
		self.assertEqual(page.headers["Cache-Control"], "no-store")
		self.assertEqual(page.headers["X-Content-Type-Options"], "nosniff")
		self.assertEqual(page.headers["Referrer-Policy"], "no-referrer")
		policy = page.headers["Content-Security-Policy"]
		for directive in ("script-src 'self'", "object-src 'none'", "base-uri 'none'"):
			self.assertIn(directive, policy)
		self.assertNotIn("unsafe-inline", policy.split("script-src")[1].split(";")[0])

	def test_the_policy_allows_the_inlined_shell_by_hash_and_nothing_else(self):
		self.count_session()
		page = self.get(ROUTE)
		directives = dict(d.strip().split(" ", 1) for d in page.headers["Content-Security-Policy"].split(";"))
		inline = {
			# The line that opens the socket early, then the bundle.
			"script-src": re.findall(r"<script(?: type=\"module\")?>(.*?)</script>", page.text, re.DOTALL),
			"style-src": re.findall(r"<style>(.*?)</style>", page.text, re.DOTALL),
		}
		self.assertEqual([len(texts) for texts in inline.values()], [2, 1])
		for directive, texts in inline.items():
			self.assertEqual(directives[directive].split(), ["'self'", *map(sha256_source, texts)])
		self.assertEqual(len(re.findall(r"<script\b", page.text)), 3, msg="the config and those two only")

	def test_a_refused_link_keeps_its_own_policy_that_runs_no_script_at_all(self):
		refused = self.open_link("wvk_" + "x" * 40)
		self.assertGreaterEqual(refused.status_code, 400)
		policy = refused.headers["Content-Security-Policy"]
		self.assertEqual(policy, renderer.REFUSAL_POLICY)
		self.assertNotIn("script-src", policy)
		self.assertNotIn("sha256-", policy)

	def test_a_phone_that_cached_the_shell_gets_it_linked_and_a_stale_cookie_gets_it_inline(self):
		self.count_session()
		build = page_config(self.get(ROUTE).text)["shell"]["build"]
		self.client.set_cookie("wvk_shell", build)
		cached = self.get(ROUTE).text
		self.assertIn('<script type="module" src="/assets/webview_kit/dist/js/webview.bundle.', cached)
		self.assertNotIn("<style>", cached)
		self.assertNotIn("shell", page_config(cached))
		self.client.set_cookie("wvk_shell", build[::-1])
		self.assertIn('<script type="module">', self.get(ROUTE).text)

	def test_health_never_fetches_an_address_taken_from_the_request(self):
		listener = socket.create_server(("127.0.0.1", 0))
		listener.settimeout(3)
		called = threading.Event()

		def accept():
			try:
				listener.accept()
				called.set()
			except OSError:
				pass

		threading.Thread(target=accept, daemon=True).start()
		self.addCleanup(listener.close)
		port = listener.getsockname()[1]
		frappe.cache.delete_value(health.REPORT_KEY)
		response = self.get("/api/method/webview_kit.ops_api.health", headers={"Host": f"127.0.0.1:{port}"})
		self.assertIn(response.status_code, (200, 503))
		self.assertFalse(called.wait(1), msg="the health check connected to the request's Host")


class TestForgottenRooms(AttackTestCase):
	def test_a_deleted_documents_room_is_forgotten(self):
		name = self.task(shared_with=READER)
		doc = frappe.get_doc(DEMO_DOCTYPE, name)
		doc.title = "Secret plans"
		doc.save(ignore_permissions=True)
		frappe.db.commit()
		self.assertGreater(room_head(doc_room(DEMO_DOCTYPE, name))["seq"], 0)
		frappe.delete_doc(DEMO_DOCTYPE, name, ignore_permissions=True)
		frappe.db.commit()
		self.assertEqual(room_head(doc_room(DEMO_DOCTYPE, name))["seq"], 0)

	def test_a_renamed_documents_old_room_is_forgotten(self):
		name = self.task(shared_with=READER)
		doc = frappe.get_doc(DEMO_DOCTYPE, name)
		doc.save(ignore_permissions=True)
		frappe.db.commit()
		new = f"{name}-renamed"
		frappe.rename_doc(DEMO_DOCTYPE, name, new, force=True)
		frappe.db.commit()
		self.addCleanup(frappe.delete_doc, DEMO_DOCTYPE, new, ignore_permissions=True, force=True)
		self.assertEqual(room_head(doc_room(DEMO_DOCTYPE, name))["seq"], 0)
