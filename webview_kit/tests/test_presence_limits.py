"""Presence cannot flood a room: joins are rate-limited per session, lists capped and coalesced."""

import json
from unittest.mock import patch

import frappe

from webview_kit import presence
from webview_kit.publish import history, publish, user_room
from webview_kit.settings import DOCTYPE as SETTINGS
from webview_kit.tests.support import ensure_user
from webview_kit.tests.test_attacks import page_config
from webview_kit.tests.test_presence import PresenceTestCase
from webview_kit.tests.test_requests import READER, ROUTE, RequestTestCase

REAL = "webview_kit.test"


def real_events(room: str) -> list:
	return [e["data"] for e in history(room, 0)["events"] if e["event"] == REAL]


class TestPresenceFlood(RequestTestCase):
	def stored_setting(self, name: str, value) -> None:
		"""Set a Webview Setting for every process (the requests run apart), until the test ends."""
		before = frappe.db.get_single_value(SETTINGS, name)
		frappe.db.set_single_value(SETTINGS, name, value)
		frappe.db.commit()
		self.addCleanup(frappe.db.commit)
		self.addCleanup(frappe.db.set_single_value, SETTINGS, name, before)

	def test_a_flood_of_client_ids_from_one_session_gets_429_and_real_events_stay(self):
		self.stored_setting("history_length", 20)
		self.sign_in_by_link()
		csrf = page_config(self.get(ROUTE).text)["csrf_token"]
		room = user_room(READER)
		for n in range(5):
			publish(room, REAL, n)
		limit = 60  # the default of presence_rate_limit

		statuses = []
		for n in range(limit + 10):
			client = f"flood-{n:04d}-{frappe.generate_hash(length=8)}"
			response = self.get(
				"/api/method/webview_kit.api.presence_join",
				method="POST",
				json={"client": client, "room": room},
				headers={"X-Frappe-CSRF-Token": csrf},
			)
			statuses.append(response.status_code)
		self.addCleanup(frappe.cache.delete, *presence._room_keys(room))

		self.assertEqual(statuses, [200] * limit + [429] * 10)
		self.assertEqual(real_events(room), [0, 1, 2, 3, 4])
		kept = [e for e in history(room, 0)["events"] if e["event"] == presence.EVENT_PRESENCE]
		self.assertEqual(len(kept), 1, msg="history keeps only the newest viewer list")


class TestCrowdedRoom(PresenceTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.crowd = [ensure_user(f"wvk-crowd-{n:02d}@example.com") for n in range(12)]

	def conf(self, **settings):
		patcher = patch.dict(frappe.local.conf, settings)
		patcher.start()
		self.addCleanup(patcher.stop)

	def fill(self, room: str) -> list[dict]:
		states = []
		for user in self.crowd:
			client = frappe.generate_hash(length=16)
			self.addCleanup(presence.leave, client, user)
			states.append(presence.join(client, user, room))
		return states

	def test_a_room_at_the_cap_still_accepts_joins_and_counts_the_rest(self):
		self.conf(webview_presence_max_viewers=5)
		room = self.room()

		last = self.fill(room)[-1]

		self.assertEqual(len(last["viewers"]), 5)
		self.assertEqual(last["more"], 7)
		self.assertEqual(self.published(room), last)

	def test_a_list_that_would_not_fit_in_an_event_names_fewer_people_instead_of_failing(self):
		self.conf(webview_max_payload=600)
		room = self.room()

		last = self.fill(room)[-1]

		self.assertEqual(len(last["viewers"]) + last["more"], 12)
		self.assertGreater(last["more"], 0)
		self.assertLessEqual(len(json.dumps(self.published(room), separators=(",", ":"))), 600)

	def test_presence_is_coalesced_so_real_events_stay_in_history(self):
		self.conf(webview_history_length=10)
		room = self.room()
		for n in range(5):
			publish(room, REAL, n)

		self.fill(room)

		self.assertEqual(real_events(room), [0, 1, 2, 3, 4])


class TestJoinRate(PresenceTestCase):
	def test_joins_past_the_limit_in_a_minute_are_refused(self):
		session = frappe.generate_hash(length=20)
		with patch.dict(frappe.local.conf, {"webview_presence_rate_limit": 3}):
			for _ in range(3):
				presence.check_join_rate(session)
			with self.assertRaises(frappe.RateLimitExceededError):
				presence.check_join_rate(session)
			presence.check_join_rate(frappe.generate_hash(length=20))  # another session is not limited
