"""One code base for Frappe v15 and v16: each difference, called the way each major calls it.

The suite runs on v15; where v16 calls the kit differently (the socket server's callbacks,
JSON session rows, `login_as` with a session end), the test makes that call as v16 would.
"""

import re
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from unittest.mock import patch

import frappe
from frappe.rate_limiter import rate_limit
from frappe.tests.utils import FrappeTestCase
from frappe.utils import set_request
from webview_kit_demo.setup import DEMO_DOCTYPE

from webview_kit import auth, scope
from webview_kit.infra import compat
from webview_kit.tests.support import ensure_user, session_data, sessions_of, sign_in, wsgi_client
from webview_kit.tests.test_attacks import DESK_USER, AttackTestCase
from webview_kit.tests.test_requests import READER, ROUTE

V16_PERMISSION = "/api/method/frappe.realtime.has_permission"
RTL_READER = "wvk-rtl-reader@example.com"
SESSIONS_CREATED = []


def note_session_creation(login_manager):
	"""An app's `on_session_creation` hook."""
	SESSIONS_CREATED.append(login_manager.user)


@contextmanager
def on_session_creation(method: str):
	"""Add `method` to the `on_session_creation` hooks, as an installed app would."""
	get_hooks = frappe.get_hooks

	def patched(hook=None, default="_KEEP_DEFAULT_LIST", app_name=None):
		hooks = get_hooks(hook, default, app_name)
		if hook is None:
			created = [*hooks.get("on_session_creation", []), method]
			return frappe._dict({**hooks, "on_session_creation": created})  # v16 reads hooks as attributes
		return hooks

	with patch.object(frappe, "get_hooks", patched):
		yield


class TestMajor(FrappeTestCase):
	def test_the_major_agrees_with_a_version_string_that_names_one(self):
		named = frappe.__version__.split(".")[0]
		if named in ("15", "16"):
			self.assertEqual(compat.MAJOR, int(named))
		self.assertIn(compat.MAJOR, compat.SOCKET_CALLBACKS)

	def test_every_majors_socket_callbacks_are_overridden_and_allowed(self):
		overrides = frappe.get_hooks("override_whitelisted_methods")
		allowed = set(frappe.get_hooks("webview_allowed_methods"))
		for major, names in compat.SOCKET_CALLBACKS.items():
			for name in names:
				with self.subTest(major=major, name=name):
					self.assertEqual(overrides.get(name), [f"webview_kit.api.{name.rsplit('.', 1)[1]}"])
					self.assertIn(name, allowed)


class TestSocketCallbacks(AttackTestCase):
	"""The socket server's calls as each major sends them, through Frappe's WSGI app."""

	def document_session(self) -> str:
		"""Sign in by a link for the readable task's document page, render it; return the sid."""
		token = self.issue(route="/webview/document", params={"name": self.readable})
		opened = self.open_link(token, "/webview/document", f"&name={self.readable}")
		self.assertEqual(opened.status_code, 303)
		self.assertEqual(self.get(f"/webview/document?name={self.readable}").status_code, 200)
		return self.client.get_cookie("sid").value

	def as_v16_socket_server(self, sid: str, path: str):
		"""v16's `frappe_request`: the sid as a cookie, and the socket secret from Redis."""
		client = wsgi_client()
		client.set_cookie("sid", sid)
		secret = frappe.cache.get("socketio_auth_secret")  # absent before frappe/frappe#36778
		headers = {"X-Frappe-Socket-Secret": secret.decode()} if secret else {}
		return self.get_with(client, path, headers=headers)

	def as_v15_socket_server(self, sid: str, path: str):
		"""v15's superagent call: the sid in the query string, no cookie."""
		joiner = "&" if "?" in path else "?"
		return self.get_with(wsgi_client(), f"{path}{joiner}sid={sid}")

	def get_with(self, client, path: str, **kwargs):
		from webview_kit.tests.support import request

		return request(client, path, ip=self.ip, **kwargs)

	def test_v16_has_permission_lets_a_scoped_socket_join_its_documents_room_only(self):
		sid = self.document_session()
		other = self.task(shared_with=READER)
		own = self.as_v16_socket_server(sid, f"{V16_PERMISSION}?doctype={DEMO_DOCTYPE}&name={self.readable}")
		self.assertEqual(own.status_code, 200, msg=own.text[:300])
		self.assertIs(own.json["message"], True)
		for name in (other, self.unreadable, ""):  # "" is how v16 asks for `doctype_subscribe`
			with self.subTest(name=name):
				path = f"{V16_PERMISSION}?doctype={DEMO_DOCTYPE}&name={name}"
				self.assert_refused(self.as_v16_socket_server(sid, path))
		self.assert_refused(self.as_v16_socket_server(sid, f"{V16_PERMISSION}?doctype=User&name={READER}"))

	def test_v15_callbacks_with_the_sid_in_the_query_enforce_the_same_scope(self):
		sid = self.document_session()
		base = "/api/method/frappe.realtime"
		own = self.as_v15_socket_server(
			sid, f"{base}.can_subscribe_doc?doctype={DEMO_DOCTYPE}&docname={self.readable}"
		)
		self.assertEqual(own.status_code, 200, msg=own.text[:300])
		other = self.task(shared_with=READER)
		self.assert_refused(
			self.as_v15_socket_server(sid, f"{base}.can_subscribe_doc?doctype={DEMO_DOCTYPE}&docname={other}")
		)
		self.assert_refused(
			self.as_v15_socket_server(sid, f"{base}.can_subscribe_doctype?doctype={DEMO_DOCTYPE}")
		)

	def test_the_socket_servers_user_info_call_passes_the_guard_in_both_forms(self):
		sid = self.document_session()
		for send in (self.as_v15_socket_server, self.as_v16_socket_server):
			with self.subTest(send.__name__):
				info = send(sid, "/api/method/frappe.realtime.get_user_info")
				self.assertEqual(info.status_code, 200, msg=info.text[:300])
				if info.json["message"]:  # {} on v16 without the socket secret
					self.assertEqual(info.json["message"]["user"], READER)

	def test_an_unscoped_session_gets_frappes_own_answer_from_has_permission(self):
		self.client = wsgi_client()
		sid = sign_in(user=DESK_USER)
		own = self.as_v16_socket_server(sid, f"{V16_PERMISSION}?doctype={DEMO_DOCTYPE}&name={self.readable}")
		self.assertEqual(own.status_code, 200, msg=own.text[:300])
		doctype = self.as_v16_socket_server(sid, f"{V16_PERMISSION}?doctype={DEMO_DOCTYPE}&name=")
		self.assertEqual(doctype.status_code, 200, msg=doctype.text[:300])
		guest = self.as_v16_socket_server("Guest", f"{V16_PERMISSION}?doctype=User&name={DESK_USER}")
		self.assertEqual(guest.status_code, 403, msg=guest.text[:300])


class TestSessionRows(AttackTestCase):
	def test_a_json_session_row_as_v16_writes_it_is_found_and_pruned(self):
		self.count_session()
		sid = self.client.get_cookie("sid").value
		data = session_data(sid)
		data[scope.SESSION_KEY]["expires"] = time.time() - 1
		data[scope.SESSION_KEY]["rooms"] = None  # JSON null: not a Python literal
		row = compat.session_data_text(data, major=16)
		self.assertIn('"rooms":null', row)
		frappe.db.sql("update tabSessions set sessiondata = %s where sid = %s", (row, sid))
		frappe.db.commit()
		frappe.cache.hdel("session", sid)
		found = {found_sid: found for found_sid, _user, found in auth.webview_sessions(READER)}
		self.assertEqual(found[sid][scope.SESSION_KEY]["rooms"], None)
		self.assertGreaterEqual(auth.prune_sessions(), 1)
		self.assertNotIn(sid, sessions_of(READER))

	def test_the_running_majors_form_is_what_frappe_itself_wrote(self):
		self.count_session()
		sid = self.client.get_cookie("sid").value
		frappe.db.commit()
		(stored,) = frappe.db.sql_list("select sessiondata from tabSessions where sid = %s", sid)
		self.assertEqual(compat.session_data_text(compat.parse_session_data(stored)), stored)

	def test_both_forms_read_back_to_the_same_data(self):
		data = {"user_type": "Website User", "webview_scope": {"rooms": None, "expires": 1.5, "lists": []}}
		for major in (15, 16):
			with self.subTest(major=major):
				self.assertEqual(compat.parse_session_data(compat.session_data_text(data, major)), data)
		self.assertEqual(compat.parse_session_data(None), {})

	def test_a_row_in_neither_form_is_refused_with_what_it_was(self):
		for text in ("not data", "[1, 2]", "{'a': "):
			with (
				self.subTest(text=text),
				self.assertRaisesRegex(ValueError, "neither JSON nor a Python literal"),
			):
				compat.parse_session_data(text)


class TestSignIn(FrappeTestCase):
	def test_v16s_login_as_gets_the_session_end_timezone_aware(self):
		calls = []

		class V16LoginManager:
			def login_as(self, user, session_end=None, audit_user=None):
				calls.append((user, session_end, audit_user))

		ends = time.time() + 3600
		compat.login_as(V16LoginManager(), READER, ends)
		((user, session_end, audit_user),) = calls
		self.assertEqual((user, audit_user), (READER, None))
		# How v16's Session decides a session is over (frappe/sessions.py)
		parsed = datetime.fromisoformat(session_end)
		self.assertIsNotNone(parsed.tzinfo)
		self.assertAlmostEqual(parsed.timestamp(), ends, places=3)
		self.assertFalse(datetime.now(tz=UTC) > parsed)

	def test_v15s_login_as_gets_the_user_only(self):
		calls = []

		class V15LoginManager:
			def login_as(self, user):
				calls.append(user)

		compat.login_as(V15LoginManager(), READER, time.time() + 60)
		self.assertEqual(calls, [READER])

	def test_a_link_runs_on_session_creation_hooks_as_the_running_frappe_does(self):
		ensure_user(READER)
		SESSIONS_CREATED.clear()
		link = auth.issue_link(READER, ROUTE)
		token = link["url"].split(f"?{scope.TOKEN_PARAM}=")[1]
		with on_session_creation(f"{__name__}.note_session_creation"):
			sign_in(auth.redeem(token, ROUTE))
		# v16 runs them in make_session, for every new session; v15 for interactive logins only.
		self.assertEqual(SESSIONS_CREATED, [READER] if compat.MAJOR >= 16 else [])


class TestRateLimitKey(FrappeTestCase):
	def test_the_key_is_where_frappes_rate_limit_counts(self):
		set_request(method="POST", path="/api/method/wvk.limited")
		frappe.local.form_dict = frappe._dict(cmd="wvk.limited")
		frappe.local.request_ip = f"10.9.{int(time.time()) % 250}.7"
		key = compat.rate_limit_key("wvk.limited", frappe.local.request_ip, 60)
		frappe.cache.delete(key)
		self.addCleanup(frappe.cache.delete, key)

		@rate_limit(limit=5, seconds=60)
		def limited():
			return "ran"

		self.assertEqual(limited(), "ran")
		self.assertEqual(int(frappe.cache.get(key)), 1)

	def test_v16s_key_ends_with_the_window(self):
		v15 = compat.rate_limit_key("m", "1.2.3.4", 60, major=15)
		self.assertEqual(compat.rate_limit_key("m", "1.2.3.4", 60, major=16), v15 + b":60")


class TestTextDirection(AttackTestCase):
	def test_the_shell_carries_dir_from_the_users_language(self):
		ensure_user(RTL_READER)
		frappe.db.set_value("User", RTL_READER, "language", "ar")
		frappe.db.commit()
		frappe.clear_cache(user=RTL_READER)
		self.addCleanup(
			lambda: (frappe.db.set_value("User", RTL_READER, "language", None), frappe.db.commit())
		)
		for user, direction in ((READER, "ltr"), (RTL_READER, "rtl")):
			with self.subTest(user=user):
				self.client = wsgi_client()
				self.assertEqual(self.open_link(self.issue(user=user)).status_code, 303)
				page = self.get(ROUTE)
				self.assertEqual(page.status_code, 200)
				html = re.search(r"<html[^>]*>", page.get_data(as_text=True)).group(0)
				self.assertIn(f'dir="{direction}"', html)
