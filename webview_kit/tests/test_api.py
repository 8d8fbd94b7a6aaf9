"""The whitelisted surface: catch-up with the room's permission, issuing and revoking links."""

from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase

from webview_kit import api, auth, publish, scope
from webview_kit.publish import doc_room, user_room
from webview_kit.tests.support import clear_room, ensure_user, sessions_of, sign_in
from webview_kit.tests.test_issuing_policy import allow_self_issue

READER = "wvk-reader@example.com"
OTHER = "wvk-other@example.com"
ISSUER = "wvk-issuer@example.com"
ROUTE = "/webview/count"


class ApiTestCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_user(READER)
		ensure_user(OTHER)
		ensure_user(ISSUER, roles=("Webview Issuer",))
		frappe.set_user("Administrator")
		cls.own_todo = cls.todo_for(READER)
		cls.others_todo = cls.todo_for(OTHER)
		frappe.db.commit()
		cls.addClassCleanup(cls.delete_todos)

	@classmethod
	def delete_todos(cls):
		frappe.db.delete("ToDo", {"name": ("in", [cls.own_todo, cls.others_todo])})
		frappe.db.commit()

	@staticmethod
	def todo_for(user: str) -> str:
		return (
			frappe.get_doc({"doctype": "ToDo", "description": "webview_kit test", "allocated_to": user})
			.insert()
			.name
		)

	def setUp(self):
		frappe.set_user("Administrator")
		self.addCleanup(frappe.set_user, "Administrator")

	def fill(self, room: str, count: int = 3):
		clear_room(room)
		self.addCleanup(clear_room, room)
		for n in range(count):
			publish.publish(room, "webview_kit.test", {"n": n})


class TestCatchUp(ApiTestCase):
	def test_user_catches_up_on_their_own_room(self):
		self.fill(user_room(READER))
		frappe.set_user(READER)
		result = api.catch_up(user_room(READER), after="1")
		self.assertEqual([e["seq"] for e in result["events"]], [2, 3])
		self.assertEqual((result["head"], result["gap"]), (3, False))

	def test_catch_up_passes_the_epoch_on(self):
		self.fill(user_room(READER))
		frappe.set_user(READER)
		self.assertTrue(api.catch_up(user_room(READER), after=1, epoch="not-the-epoch")["gap"])
		epoch = publish.room_head(user_room(READER))["epoch"]
		self.assertFalse(api.catch_up(user_room(READER), after=1, epoch=epoch)["gap"])

	def test_user_catches_up_on_a_document_they_can_read(self):
		room = doc_room("ToDo", self.own_todo)
		self.fill(room)
		frappe.set_user(READER)
		self.assertEqual([e["seq"] for e in api.catch_up(room, after=0)["events"]], [1, 2, 3])

	def test_rooms_the_user_may_not_follow_answer_permission_error(self):
		cases = [
			("another user's room", READER, user_room(OTHER)),
			("a document the user cannot read", READER, doc_room("ToDo", self.others_todo)),
			("another user's record", READER, doc_room("User", "Administrator")),
			("a doctype that does not exist", READER, doc_room("No Such Doctype", "x")),
			("Guest's own room", "Guest", user_room("Guest")),
			("a user room as Guest", "Guest", user_room(READER)),
		]
		for label, user, room in cases:
			with self.subTest(label):
				frappe.set_user(user)
				with self.assertRaises(frappe.PermissionError):
					api.catch_up(room, after=0)

	def test_a_users_join_probes_past_the_limit_in_a_minute_are_refused_in_every_session(self):
		"""Each probe is relayed to every socket in the room: a flood of them is refused, 429."""
		room = doc_room("ToDo", self.own_todo)
		self.fill(room)
		counter = frappe.cache.make_key(f"webview_kit:probes:{READER}")
		frappe.cache.delete(counter)
		self.addCleanup(frappe.cache.delete, counter)
		frappe.set_user(READER)
		with patch.object(api, "PROBES_PER_MINUTE", 3):
			for n in range(3):
				api.catch_up(room, after=0, probe=f"{n:012x}")
			with self.assertRaises(frappe.RateLimitExceededError):
				api.catch_up(room, after=0, probe="00000000000f")
			with (
				patch.dict(frappe.session, sid=frappe.generate_hash()),
				self.assertRaises(frappe.RateLimitExceededError),
			):
				api.catch_up(room, after=0, probe="00000000000f")  # a new session of the same user
			api.catch_up(room, after=0)  # a catch-up without a probe publishes nothing: not limited
			frappe.set_user(OTHER)
			api.catch_up(user_room(OTHER), after=0, probe="00000000000f")  # another user is not

	def test_rooms_that_are_not_rooms_answer_a_validation_error(self):
		frappe.set_user(READER)
		for room in ("lobby", "user:", "doc:ToDo", "doc:/x", "user:" + "x" * 300):
			with self.subTest(room=str(room)[:20]), self.assertRaises(frappe.ValidationError):
				api.catch_up(room, after=0)

	def test_catch_up_answers_get_only_and_the_rest_post_only(self):
		allowed = frappe.allowed_http_methods_for_whitelisted_func
		self.assertEqual(allowed[api.catch_up], ["GET"])
		self.assertEqual(allowed[api.issue_link], ["POST"])
		self.assertEqual(allowed[api.revoke_sessions], ["POST"])


class TestIssueAndRevoke(ApiTestCase):
	def setUp(self):
		frappe.set_user("Administrator")
		self.addCleanup(frappe.set_user, "Administrator")
		auth.revoke(READER)  # sessions an earlier run on this site left (test_auth starts some)

	def open_a_webview(self) -> str:
		"""Redeem a fresh link for READER in a request of its own; return the session's id."""
		frappe.set_user("Administrator")
		token = auth.issue_link(READER, ROUTE)["url"].split(f"?{scope.TOKEN_PARAM}=")[1]
		return sign_in(auth.redeem(token, ROUTE))

	def test_user_issues_a_link_for_themself_where_settings_allow_it(self):
		allow_self_issue(1)
		self.addCleanup(allow_self_issue, 0)
		frappe.set_user(READER)
		link = api.issue_link(READER, ROUTE, ttl="60", device="phone")
		self.assertEqual(link["expires_in"], 60)
		token = link["url"].split(f"?{scope.TOKEN_PARAM}=")[1]
		self.assertEqual(auth.redeem(token, ROUTE)["device"], "phone")

	def test_user_may_not_issue_for_someone_else(self):
		frappe.set_user(READER)
		with self.assertRaises(frappe.PermissionError):
			api.issue_link(OTHER, ROUTE)

	def test_user_revokes_their_own_sessions(self):
		sid = self.open_a_webview()
		frappe.set_user(READER)
		self.assertEqual(api.revoke_sessions(READER), {"ended": 1})
		self.assertNotIn(sid, sessions_of(READER))

	def test_user_may_not_revoke_someone_elses_sessions(self):
		frappe.set_user(READER)
		with self.assertRaises(frappe.PermissionError):
			api.revoke_sessions(OTHER)

	def test_issuer_may_revoke_others_sessions(self):
		sid = self.open_a_webview()
		frappe.set_user(ISSUER)
		self.assertEqual(api.revoke_sessions(READER), {"ended": 1})
		self.assertNotIn(sid, sessions_of(READER))
