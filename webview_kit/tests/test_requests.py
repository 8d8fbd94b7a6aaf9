"""Deep links end to end through Frappe's own WSGI app: redeem, refuse, rate limit, scope, revoke.

Each request runs the whole app in a thread of its own (hooks, session cookies, page
renderers), as gunicorn would; only the network between client and app is left out.
"""

import json
import random
import time
from http.cookies import Morsel, SimpleCookie
from urllib.parse import urlsplit

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils.password import update_password

from webview_kit import auth, publish, scope
from webview_kit.publish import EVENT_COUNT, user_room
from webview_kit.tests.support import clear_room, ensure_user, request, wsgi_client

READER = "wvk-reader@example.com"
OTHER = "wvk-other@example.com"
PASSWORD = "Wvk-test-password-7!"
ROUTE = "/webview/count"


def set_cookies(response) -> dict[str, Morsel]:
	"""The response's Set-Cookie headers by cookie name."""
	cookies = {}
	for header in response.headers.getlist("Set-Cookie"):
		cookie = SimpleCookie()
		cookie.load(header)
		cookies.update({name: morsel for name, morsel in cookie.items()})
	return cookies


def new_ip() -> str:
	"""A random client address: redeem rate-limit buckets are per IP and outlive a test run."""
	return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


class RequestTestCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_user(READER)
		ensure_user(OTHER)
		update_password(READER, PASSWORD)
		frappe.db.commit()

	def setUp(self):
		frappe.set_user("Administrator")
		self.client = wsgi_client()
		self.ip = new_ip()
		clear_room(user_room(READER))
		self.addCleanup(clear_room, user_room(READER))

	def get(self, path: str, **kwargs):
		return request(self.client, path, ip=self.ip, **kwargs)

	def issue(self, user: str = READER, route: str = ROUTE, params: dict | None = None) -> str:
		link = auth.issue_link(user, route, params)
		frappe.db.commit()
		return link["url"].rsplit(f"{scope.TOKEN_PARAM}=", 1)[1]

	def open_link(self, token: str, route: str = ROUTE, query: str = "", **kwargs):
		return self.get(f"{route}?{scope.TOKEN_PARAM}={token}{query}", **kwargs)

	def sign_in_by_link(self) -> None:
		response = self.open_link(self.issue())
		self.assertEqual(response.status_code, 303, msg=response.get_data(as_text=True)[:500])

	def logged_user(self) -> str | None:
		response = self.get("/api/method/frappe.auth.get_logged_user")
		return response.json.get("message") if response.status_code == 200 else None


class TestRedeemRequest(RequestTestCase):
	def test_link_signs_in_and_redirects_to_the_page_without_the_token(self):
		response = self.open_link(self.issue())
		self.assertEqual(response.status_code, 303)
		location = urlsplit(response.headers["Location"])
		self.assertEqual((location.path, location.query), (ROUTE, ""))
		self.assertEqual(response.headers["Cache-Control"], "no-store")
		self.assertEqual(response.headers["Referrer-Policy"], "no-referrer")
		sid = set_cookies(response)["sid"]
		self.assertTrue(sid.value and sid.value != "Guest")
		self.assertTrue(sid["httponly"])

		self.assertEqual(self.logged_user(), READER)
		page = self.get(ROUTE)
		self.assertEqual(page.status_code, 200)
		self.assertIn('data-testid="count"', page.get_data(as_text=True))

	def test_link_replaces_a_session_the_browser_already_has(self):
		self.sign_in_by_link()
		first = self.client.get_cookie("sid").value
		self.sign_in_by_link()
		self.assertNotEqual(self.client.get_cookie("sid").value, first)
		self.assertEqual(self.logged_user(), READER)

	def test_redeem_is_audited_with_the_ip(self):
		token = self.issue()
		self.open_link(token)
		link_id = auth.token_hash(token)[:12]
		frappe.db.commit()
		row = frappe.get_last_doc(
			"Activity Log", filters={"subject": ("like", f"Webview link {link_id} redeemed%")}
		)
		self.assertEqual((row.user, row.status, row.ip_address), (READER, "Success", self.ip))

	def test_refused_links_get_an_error_page_and_no_session(self):
		used = self.issue()
		self.open_link(used)
		self.client = wsgi_client()  # a fresh WebView: no cookies
		cases = [
			("already used", used, ROUTE, "used", 410),
			("unknown", auth.new_token(), ROUTE, "unknown", 401),
			("malformed", "wvk_nope", ROUTE, "malformed", 401),
			("altered", self.issue()[:-3] + "AAA", ROUTE, "altered", 401),
			("another route", self.issue(route=ROUTE), "/webview/other", "wrong_route", 403),
		]
		for label, token, route, reason, status in cases:
			with self.subTest(label):
				response = self.open_link(token, route)
				body = response.get_data(as_text=True)
				self.assertEqual(response.status_code, status)
				self.assertIn(f'data-link-error="{reason}"', body)
				self.assertIn(auth.REFUSALS[reason][0].replace("'", "&#39;"), body)
				self.assertNotIn("Traceback", body)
				self.assertNotIn(token, body)
				self.assertEqual(response.headers["Cache-Control"], "no-store")
				self.assertNotIn("sid", set_cookies(response))
				self.assertIsNone(self.logged_user())

	def test_refusals_are_audited_with_their_reason(self):
		self.open_link(auth.new_token())
		frappe.db.commit()
		row = frappe.get_last_doc("Activity Log", filters={"subject": "Webview link refused: unknown"})
		self.assertEqual((row.status, row.ip_address), ("Failed", self.ip))

	def test_a_burst_of_valid_links_from_one_address_all_redeem(self):
		# Phones behind one carrier NAT share an address: valid links never count against it.
		tokens = [self.issue() for _ in range(100)]
		statuses = {self.open_link(token).status_code for token in tokens}
		self.assertEqual(statuses, {303})

	def test_junk_from_one_address_is_limited_and_a_valid_link_still_signs_in(self):
		limit = auth.refusal_limit()
		self.assertEqual({self.open_link(auth.new_token()).status_code for _ in range(limit)}, {401})
		limited = self.open_link(auth.new_token())
		self.assertEqual(limited.status_code, 429)
		self.assertTrue(0 < int(limited.headers["Retry-After"]) <= 60)
		self.assertIn('data-link-error="rate_limited"', limited.get_data(as_text=True))
		self.assertNotIn("sid", set_cookies(limited))

		self.assertEqual(self.open_link(self.issue()).status_code, 303, msg="a valid link always redeems")
		self.assertEqual(self.logged_user(), READER)

	def test_a_flood_of_junk_writes_a_bounded_audit_trail(self):
		limit = auth.refusal_limit()
		started = time.monotonic()
		for _ in range(2000):
			self.open_link("wvk_junk")
		windows = int((time.monotonic() - started) // auth.WINDOW) + 2
		frappe.db.commit()
		rows = frappe.db.count("Activity Log", {"ip_address": self.ip, "status": "Failed"})
		# Per window, the first `limit` refusals and one "rate limited" row. The window the
		# flood began in and every one it lasted into may each start a trail of their own
		# (a loaded machine takes minutes for 2,000 requests); not one row a request.
		self.assertLessEqual(rows, windows * (limit + 1))
		self.assertGreaterEqual(rows, limit + 1)
		self.assertLess(rows, 2000 // 10)


class TestScopedSession(RequestTestCase):
	def test_scoped_session_reaches_its_page_and_what_the_page_needs(self):
		self.sign_in_by_link()
		for path in (
			ROUTE,
			f"/api/method/webview_kit.api.catch_up?room={user_room(READER)}&after=0",
			"/api/method/frappe.auth.get_logged_user",
			"/api/method/frappe.realtime.get_user_info",
		):
			with self.subTest(path=path):
				self.assertEqual(self.get(path).status_code, 200)

	def test_scoped_session_gets_403_everywhere_else(self):
		self.sign_in_by_link()
		for path in (
			"/app",
			"/app/todo",
			"/api/resource/User",
			"/api/resource/ToDo",
			"/api/method/frappe.client.get_count?doctype=ToDo",
			"/api/method/webview_kit.api.issue_link",
			"/me",
			"/webview/other",
		):
			with self.subTest(path=path):
				self.assertEqual(self.get(path).status_code, 403)
		self.assertEqual(self.logged_user(), READER, msg="a refused request does not end the session")

	def test_scoped_session_cannot_call_other_methods_through_cmd(self):
		self.sign_in_by_link()
		for path in (
			f"{ROUTE}?cmd=frappe.client.get_count&doctype=ToDo",
			f"/webview/other?{scope.TOKEN_PARAM}=x&cmd=frappe.client.get_count&doctype=ToDo",
			"/assets/x.js?cmd=frappe.client.get_count&doctype=ToDo",
		):
			with self.subTest(path=path):
				self.assertEqual(self.get(path).status_code, 403)

	def test_normal_login_is_not_scoped(self):
		login = self.get("/api/method/login", method="POST", data={"usr": READER, "pwd": PASSWORD})
		self.assertEqual(login.status_code, 200, msg=login.get_data(as_text=True)[:300])
		response = self.get("/api/method/frappe.client.get_count?doctype=ToDo")
		self.assertEqual(response.status_code, 200)

	def test_catch_up_for_another_users_room_is_403(self):
		self.sign_in_by_link()
		response = self.get(f"/api/method/webview_kit.api.catch_up?room={user_room(OTHER)}&after=0")
		self.assertEqual(response.status_code, 403)

	def test_revoked_session_is_signed_out(self):
		self.sign_in_by_link()
		self.assertEqual(self.logged_user(), READER)
		self.assertGreaterEqual(auth.revoke(READER), 1)
		self.assertIsNone(self.logged_user())
		self.assertEqual(self.get(ROUTE).status_code, 403, msg="the page asks Guests for a link")


class TestCountPage(RequestTestCase):
	def test_count_page_renders_the_current_count(self):
		publish.publish(user_room(READER), EVENT_COUNT, {"count": 42}, coalesce=True)
		self.sign_in_by_link()
		page = self.get(ROUTE).get_data(as_text=True)
		self.assertRegex(page, r'data-testid="count"[^>]*>42<')

	def test_count_page_hands_the_room_position_to_the_client(self):
		for n in range(3):
			publish.publish(user_room(READER), EVENT_COUNT, {"count": n})
		self.sign_in_by_link()
		page = self.get(ROUTE).get_data(as_text=True)
		head = publish.room_head(user_room(READER))
		self.assertIn(json.dumps(head["epoch"]), page)
		self.assertRegex(page, rf'"{user_room(READER)}": \{{"seq": 3, "epoch": "{head["epoch"]}"')


class TestOneSessionSites(RequestTestCase):
	"""Sites with `deny_multiple_sessions`: Frappe keeps each user's `simultaneous_sessions`
	most recently active sessions, webview sessions among them (docs/deep-links.md)."""

	def setUp(self):
		super().setUp()
		frappe.db.set_single_value("System Settings", "deny_multiple_sessions", 1)
		frappe.db.commit()
		self.addCleanup(self.allow_multiple_sessions)

	def allow_multiple_sessions(self):
		frappe.db.set_single_value("System Settings", "deny_multiple_sessions", 0)
		frappe.db.set_value("User", READER, "simultaneous_sessions", 2)
		frappe.db.commit()

	def allow_sessions(self, count: int) -> None:
		frappe.db.set_value("User", READER, "simultaneous_sessions", count)
		frappe.db.commit()

	def desk_login(self):
		desk = wsgi_client()
		login = request(desk, "/api/method/login", method="POST", data={"usr": READER, "pwd": PASSWORD})
		self.assertEqual(login.status_code, 200, msg=login.get_data(as_text=True)[:300])
		return desk

	def desk_user(self, desk) -> str | None:
		response = request(desk, "/api/method/frappe.auth.get_logged_user")
		return response.json.get("message") if response.status_code == 200 else None

	def test_with_two_sessions_allowed_a_deep_link_keeps_the_desk_session(self):
		self.allow_sessions(2)  # Frappe's default
		desk = self.desk_login()
		self.sign_in_by_link()
		self.assertEqual(self.get(ROUTE).status_code, 200)
		self.assertEqual(self.desk_user(desk), READER)
		self.assertEqual(self.get(ROUTE).status_code, 200)

	def test_with_one_session_allowed_a_deep_link_signs_the_desk_out(self):
		self.allow_sessions(1)
		desk = self.desk_login()
		self.sign_in_by_link()
		self.assertEqual(self.get(ROUTE).status_code, 200)
		self.assertNotEqual(self.desk_user(desk), READER)
