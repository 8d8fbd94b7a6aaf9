"""History that restarted under a caller, and the catch-up probe that tells a page it joined a room."""

import json

import frappe

from webview_kit import publish
from webview_kit.publish import EVENT_JOINED, PublishError, history, room_head, user_room
from webview_kit.tests.support import clear_room
from webview_kit.tests.test_publish import EVENT, PublishTestCase


class TestRestartedHistory(PublishTestCase):
	def fill(self, room: str, count: int) -> str:
		for n in range(count):
			publish.publish(room, EVENT, {"n": n})
		return room_head(room)["epoch"]

	def test_caller_beyond_the_head_of_a_restarted_room_gets_a_gap_and_the_new_snapshot(self):
		room = self.room()
		self.fill(room, 5)
		clear_room(room)
		self.fill(room, 3)  # the page is at 5, the room's new head is 3

		result = history(room, 5)  # a caller that does not say which epoch it read

		self.assertTrue(result["gap"])
		self.assertEqual((result["head"], result["events"]), (3, []))
		self.assertEqual([e["data"] for e in result["snapshot"]], [{"n": 2}])

	def test_caller_beyond_the_head_gets_a_gap_even_in_the_current_epoch(self):
		room = self.room()
		epoch = self.fill(room, 2)

		result = history(room, 9, epoch)

		self.assertTrue(result["gap"])
		self.assertEqual(result["head"], 2)

	def test_caller_from_an_old_epoch_below_the_new_head_gets_a_gap(self):
		room = self.room()
		old = self.fill(room, 2)
		clear_room(room)
		self.fill(room, 4)

		result = history(room, 1, old)

		self.assertTrue(result["gap"])
		self.assertEqual((result["head"], result["events"]), (4, []))
		self.assertNotEqual(result["epoch"], old)

	def test_caller_of_a_forgotten_room_nobody_published_to_again_gets_an_empty_gap(self):
		room = self.room()
		old = self.fill(room, 5)
		clear_room(room)

		result = history(room, 5, old)

		self.assertEqual(result, {"epoch": "", "head": 0, "gap": True, "events": [], "snapshot": []})


class TestJoinProbe(PublishTestCase):
	def messages(self, pubsub, count: int) -> list[dict]:
		received = []
		while len(received) < count:
			message = pubsub.get_message(timeout=10)
			self.assertIsNotNone(message, msg=f"only {received} arrived")
			body = json.loads(message["data"])
			if body["event"] in (EVENT_JOINED, EVENT):
				received.append(body)
		return received

	def test_probe_goes_to_the_room_then_to_the_callers_user_room_before_history_is_read(self):
		room = self.room()
		publish.publish(room, EVENT, "before")
		pubsub = self.subscribe_to_events_channel()

		result = history(room, 0, probe="00ff00ff00ff")
		publish.publish(room, EVENT, "after")

		probes = self.messages(pubsub, 3)
		me = user_room(frappe.session.user)
		self.assertEqual(
			[(m["event"], m["room"]) for m in probes],
			[(EVENT_JOINED, room), (EVENT_JOINED, me), (EVENT, room)],
		)
		self.assertEqual(probes[0]["message"], {"probe": "00ff00ff00ff", "via": room})
		self.assertEqual(probes[1]["message"], {"probe": "00ff00ff00ff", "via": me})
		self.assertEqual(probes[0]["namespace"], frappe.local.site)
		self.assertEqual([e["data"] for e in result["events"]], ["before"])

	def test_history_without_a_probe_publishes_nothing(self):
		room = self.room()
		pubsub = self.subscribe_to_events_channel()

		history(room, 0)
		publish.publish(room, EVENT, "only this")

		self.assertEqual([m["event"] for m in self.messages(pubsub, 1)], [EVENT])

	def test_a_probe_that_is_not_a_short_hex_token_is_refused(self):
		for probe in ["", "short", "00FF00FF00FF", "00ff00ff00ff" * 3, '00ff00ff"}', "zzzzzzzzzzzz"]:
			with self.subTest(probe=probe), self.assertRaisesRegex(PublishError, "probe must be"):
				history(self.room(), 0, probe=probe)
