"""Ordered, replayable events: sequence, history, expiry, delivery, Redis down, limits."""

import json
from unittest.mock import patch

import frappe
import redis
from frappe.realtime import emit_via_redis
from frappe.tests.utils import FrappeTestCase

from webview_kit import publish
from webview_kit.infra import queue_redis
from webview_kit.publish import Event, PublishError, doc_room, history, publish_many, room_head, user_room
from webview_kit.tests.support import (
	FlakyRedis,
	clear_room,
	ensure_user,
	fresh_doc_room,
	queue_redis_at,
	run_concurrently,
	unused_port,
)

EVENT = "webview_kit.test"


class PublishTestCase(FrappeTestCase):
	def room(self) -> str:
		room = fresh_doc_room()
		self.addCleanup(clear_room, room)
		return room

	def subscribe_to_events_channel(self):
		"""A subscriber of Frappe's `events` channel on the queue Redis, subscribed before it returns."""
		pubsub = redis.Redis.from_url(frappe.conf.redis_queue).pubsub()
		self.addCleanup(pubsub.close)
		pubsub.subscribe(publish.CHANNEL)
		confirmation = pubsub.get_message(timeout=10)
		self.assertEqual(confirmation and confirmation["type"], "subscribe")
		return pubsub

	def conf(self, **settings):
		"""Set site settings (frappe.conf) for the rest of the test."""
		patcher = patch.dict(frappe.local.conf, settings)
		patcher.start()
		self.addCleanup(patcher.stop)

	def seqs(self, events: list[dict]) -> list[int]:
		return [e["seq"] for e in events]

	def stream_length(self, room: str) -> int:
		return queue_redis.connection().xlen(publish._keys(room)[1])


class TestSequence(PublishTestCase):
	def test_a_room_numbers_its_events_from_one(self):
		room = self.room()
		self.assertEqual([publish.publish(room, EVENT, {"n": n}) for n in range(5)], [1, 2, 3, 4, 5])
		self.assertEqual(room_head(room)["seq"], 5)

	def test_rooms_have_independent_sequences(self):
		first, second = self.room(), self.room()
		publish.publish(first, EVENT, 1)
		publish.publish(first, EVENT, 2)
		self.assertEqual(publish.publish(second, EVENT, 1), 1)
		self.assertEqual(publish.publish(first, EVENT, 3), 3)

	def test_publish_many_numbers_events_in_the_given_order(self):
		first, second = self.room(), self.room()
		seqs = publish_many([Event(first, EVENT, "a"), Event(second, EVENT, "b"), Event(first, EVENT, "c")])
		self.assertEqual(seqs, [1, 1, 2])
		self.assertEqual([e["data"] for e in history(first, 0)["events"]], ["a", "c"])

	def test_a_batch_cut_into_several_script_calls_keeps_its_order_and_expiry(self):
		self.conf(webview_history_ttl=30)
		first, second = self.room(), self.room()
		events = [Event(first if n % 2 else second, EVENT, n) for n in range(7)]
		with patch.object(publish, "SCRIPT_BATCH", 3):
			seqs = publish_many(events)
		self.assertEqual(seqs, [1, 1, 2, 2, 3, 3, 4])
		self.assertEqual([e["data"] for e in history(first, 0)["events"]], [1, 3, 5])
		self.assertEqual([e["data"] for e in history(second, 0)["events"]], [0, 2, 4, 6])
		conn = queue_redis.connection()
		for key in [*publish._keys(first), *publish._keys(second)]:
			with self.subTest(key=key):
				self.assertTrue(0 < conn.ttl(key) <= 30, msg=f"TTL of {key} is {conn.ttl(key)}")

	def test_user_room_accepts_an_existing_user(self):
		user = ensure_user("wvk-publish@example.com")
		room = user_room(user)
		clear_room(room)
		self.addCleanup(clear_room, room)
		self.assertEqual(publish.publish(room, EVENT, {"hello": user}), 1)

	def test_concurrent_publishers_get_unique_contiguous_sequence_numbers(self):
		room = self.room()
		publishers, per_publisher = 8, 40

		def publish_from_own_context(publisher: int) -> list[int]:
			seqs = []
			for n in range(0, per_publisher, 2):
				if n % 4:
					seqs.append(publish.publish(room, EVENT, {"p": publisher, "n": n}))
					seqs.append(publish.publish(room, EVENT, {"p": publisher, "n": n + 1}))
				else:
					events = [Event(room, EVENT, {"p": publisher, "n": n + i}) for i in range(2)]
					seqs.extend(publish_many(events))
			return seqs

		results = run_concurrently(publish_from_own_context, [(p,) for p in range(publishers)])
		for result in results:
			self.assertIsInstance(result, list, msg=f"a publisher failed: {result!r}")

		total = publishers * per_publisher
		self.assertEqual(sorted(seq for seqs in results for seq in seqs), list(range(1, total + 1)))
		for seqs in results:
			self.assertEqual(seqs, sorted(seqs), msg="one publisher's events must be numbered in its order")
		self.assertEqual(room_head(room)["seq"], total)

		replay = history(room, 0)
		self.assertFalse(replay["gap"])
		self.assertEqual(self.seqs(replay["events"]), list(range(1, total + 1)))
		for publisher in range(publishers):
			mine = [e["data"]["n"] for e in replay["events"] if e["data"]["p"] == publisher]
			self.assertEqual(mine, list(range(per_publisher)))


class TestHistory(PublishTestCase):
	def test_history_returns_the_events_after_a_sequence_in_order(self):
		room = self.room()
		for n in range(6):
			publish.publish(room, EVENT, {"n": n})
		result = history(room, 3)
		self.assertEqual(self.seqs(result["events"]), [4, 5, 6])
		self.assertEqual([e["data"]["n"] for e in result["events"]], [3, 4, 5])
		self.assertFalse(result["gap"])
		self.assertEqual(result["head"], 6)
		self.assertNotIn("snapshot", result)

	def test_history_after_a_position_no_room_can_reach_is_refused(self):
		room = self.room()
		publish.publish(room, EVENT, 1)
		for after in (-1, 2**63, "1"):
			with self.subTest(after=after), self.assertRaisesRegex(PublishError, "sequence number"):
				history(room, after)

	def test_history_of_an_up_to_date_caller_is_empty(self):
		room = self.room()
		publish.publish(room, EVENT, 1)
		self.assertEqual(history(room, 1)["events"], [])
		self.assertFalse(history(room, 1)["gap"])

	def test_envelope_carries_seq_epoch_room_event_and_data(self):
		room = self.room()
		publish.publish(room, EVENT, {"text": "héllo </script>"})
		(envelope,) = history(room, 0)["events"]
		self.assertEqual(envelope["seq"], 1)
		self.assertEqual(envelope["epoch"], room_head(room)["epoch"])
		self.assertEqual(envelope["room"], room)
		self.assertEqual(envelope["event"], EVENT)
		self.assertEqual(envelope["data"], {"text": "héllo </script>"})
		self.assertIs(envelope["coalesce"], False)
		self.assertIsInstance(envelope["ts"], int)

	def test_history_is_trimmed_to_the_configured_length(self):
		self.conf(webview_history_length=5)
		room = self.room()
		for n in range(12):
			publish.publish(room, EVENT, {"n": n})
		self.assertEqual(self.stream_length(room), 5)
		self.assertEqual(self.seqs(history(room, 7)["events"]), [8, 9, 10, 11, 12])

	def test_caller_behind_trimmed_history_gets_a_gap_and_the_latest_snapshot(self):
		self.conf(webview_history_length=5)
		room = self.room()
		for n in range(12):
			publish.publish(room, EVENT, {"n": n})
		publish.publish(room, "webview_kit.other", {"x": 1})

		result = history(room, 2)
		self.assertTrue(result["gap"])
		self.assertEqual(result["head"], 13)
		self.assertEqual(
			[(e["event"], e["seq"], e["data"]) for e in result["snapshot"]],
			[(EVENT, 12, {"n": 11}), ("webview_kit.other", 13, {"x": 1})],
		)

	def test_caller_exactly_at_the_trim_edge_gets_no_gap(self):
		self.conf(webview_history_length=5)
		room = self.room()
		for n in range(12):
			publish.publish(room, EVENT, {"n": n})
		self.assertFalse(history(room, 7)["gap"])
		self.assertTrue(history(room, 6)["gap"])

	def test_history_keys_expire_after_the_configured_ttl(self):
		self.conf(webview_history_ttl=30)
		room = self.room()
		publish.publish(room, EVENT, 1)
		conn = queue_redis.connection()
		for key in publish._keys(room):
			with self.subTest(key=key):
				self.assertTrue(conn.exists(key))
				self.assertTrue(0 < conn.ttl(key) <= 30, msg=f"TTL of {key} is {conn.ttl(key)}")

	def test_publishing_again_renews_the_expiry(self):
		room = self.room()
		self.conf(webview_history_ttl=30)
		publish.publish(room, EVENT, 1)
		self.conf(webview_history_ttl=3000)
		publish.publish(room, "webview_kit.other", 2)
		conn = queue_redis.connection()
		for key in publish._keys(room):
			with self.subTest(key=key):
				self.assertGreater(conn.ttl(key), 30)

	def test_a_room_whose_history_expired_starts_a_new_epoch(self):
		room = self.room()
		publish.publish(room, EVENT, 1)
		old_epoch = room_head(room)["epoch"]
		clear_room(room)  # what expiry (or a Redis restart without persistence) does
		self.assertEqual(publish.publish(room, EVENT, 2), 1)
		self.assertTrue(room_head(room)["epoch"])
		self.assertNotEqual(room_head(room)["epoch"], old_epoch)

	def test_caller_from_an_old_epoch_gets_a_gap_and_the_new_snapshot(self):
		room = self.room()
		for n in range(5):
			publish.publish(room, EVENT, {"n": n})
		old_epoch = room_head(room)["epoch"]
		clear_room(room)
		publish.publish(room, EVENT, {"n": "after restart"})

		result = history(room, 1, old_epoch)
		self.assertTrue(result["gap"])
		self.assertEqual(result["events"], [])
		self.assertEqual(result["epoch"], room_head(room)["epoch"])
		self.assertEqual([e["data"] for e in result["snapshot"]], [{"n": "after restart"}])

	def test_caller_from_the_current_epoch_gets_no_gap(self):
		room = self.room()
		publish.publish(room, EVENT, 1)
		publish.publish(room, EVENT, 2)
		result = history(room, 1, room_head(room)["epoch"])
		self.assertFalse(result["gap"])
		self.assertEqual(self.seqs(result["events"]), [2])

	def test_room_head_gives_the_latest_envelope_of_each_event(self):
		room = self.room()
		publish.publish(room, EVENT, "a")
		publish.publish(room, "webview_kit.other", "b")
		publish.publish(room, EVENT, "c")
		head = room_head(room)
		self.assertEqual(head["seq"], 3)
		self.assertEqual(
			{name: e["data"] for name, e in head["latest"].items()}, {EVENT: "c", "webview_kit.other": "b"}
		)

	def test_room_head_of_an_unused_room_is_empty(self):
		self.assertEqual(room_head(self.room()), {"seq": 0, "epoch": "", "latest": {}})

	def test_a_forgotten_room_is_empty_and_says_it_had_events(self):
		room = self.room()
		publish.publish(room, EVENT, "a")

		self.assertTrue(publish.forget(room))

		self.assertEqual(room_head(room), {"seq": 0, "epoch": "", "latest": {}})
		self.assertFalse(publish.forget(room))


class TestCoalesce(PublishTestCase):
	def test_coalesced_stream_keeps_only_the_latest_value(self):
		room = self.room()
		for n in range(50):
			publish.publish(room, EVENT, {"count": n}, coalesce=True)
		self.assertEqual(self.stream_length(room), 1)

		result = history(room, 3)
		self.assertFalse(result["gap"], msg="skipping superseded values of a coalesced stream is not a gap")
		self.assertEqual([(e["seq"], e["data"]) for e in result["events"]], [(50, {"count": 49})])
		self.assertIs(result["events"][0]["coalesce"], True)
		self.assertEqual([e["data"] for e in room_head(room)["latest"].values()], [{"count": 49}])

	def test_coalesced_event_keeps_other_events_of_the_room_in_history(self):
		room = self.room()
		publish.publish(room, "webview_kit.message", {"text": "must not be lost"})
		publish.publish(room, EVENT, {"count": 1}, coalesce=True)

		result = history(room, 0)
		replayed = [e["data"] for e in result["events"]]
		self.assertTrue(
			{"text": "must not be lost"} in replayed or result["gap"],
			msg=f"the message vanished from history without a gap: {result}",
		)


class TestDelivery(PublishTestCase):
	def next_message_for(self, pubsub, room: str) -> dict:
		for _ in range(1000):
			message = pubsub.get_message(timeout=10)
			self.assertIsNotNone(message, msg=f"nothing arrived on {publish.CHANNEL!r} for {room}")
			self.assertEqual(message["type"], "message")
			body = json.loads(message["data"])
			if body.get("room") == room:
				return body
		self.fail(f"no message for {room}")

	def test_published_event_reaches_frappe_events_channel_in_emit_via_redis_shape(self):
		room = self.room()
		pubsub = self.subscribe_to_events_channel()

		emit_via_redis(EVENT, {"stock": True}, room)
		stock = self.next_message_for(pubsub, room)
		seq = publish.publish(room, EVENT, {"ours": True})
		ours = self.next_message_for(pubsub, room)

		self.assertEqual(set(ours), set(stock))
		self.assertEqual(ours["namespace"], frappe.local.site)
		self.assertEqual(ours["event"], EVENT)
		self.assertEqual(ours["room"], room)
		self.assertEqual(ours["message"], history(room, 0)["events"][0])
		self.assertEqual((ours["message"]["seq"], ours["message"]["data"]), (seq, {"ours": True}))

	def test_channel_receives_events_in_sequence_order(self):
		room = self.room()
		pubsub = self.subscribe_to_events_channel()
		publish_many([Event(room, EVENT, n) for n in range(20)])
		received = [self.next_message_for(pubsub, room)["message"] for _ in range(20)]
		self.assertEqual([e["seq"] for e in received], list(range(1, 21)))
		self.assertEqual([e["data"] for e in received], list(range(20)))


class TestAfterCommit(PublishTestCase):
	def test_after_commit_publishes_only_once_the_transaction_commits(self):
		room = self.room()
		self.assertIsNone(publish.publish(room, EVENT, "later", after_commit=True))
		self.assertEqual(room_head(room)["seq"], 0)
		frappe.db.commit()
		self.assertEqual(room_head(room)["seq"], 1)
		self.assertEqual(history(room, 0)["events"][0]["data"], "later")

	def test_after_commit_event_is_dropped_on_rollback(self):
		room = self.room()
		publish.publish(room, EVENT, "never", after_commit=True)
		frappe.db.rollback()
		frappe.db.commit()
		self.assertEqual(room_head(room)["seq"], 0)


class TestRedisDown(PublishTestCase):
	def dead_redis(self) -> str:
		return f"redis://127.0.0.1:{unused_port()}"

	def test_publish_raises_publish_error_when_redis_is_down(self):
		room = self.room()
		with queue_redis_at(self.dead_redis()), self.assertRaises(PublishError) as raised:
			publish.publish(room, EVENT, "lost?")
		self.assertIn("nothing was published", str(raised.exception))
		self.assertEqual(room_head(room)["seq"], 0)

	def test_history_raises_publish_error_when_redis_is_down(self):
		room = self.room()
		with queue_redis_at(self.dead_redis()), self.assertRaises(PublishError):
			history(room, 0)

	def test_publish_makes_one_more_attempt_per_retry_before_raising(self):
		room = self.room()
		with FlakyRedis(frappe.conf.redis_queue) as redis_down, queue_redis_at(redis_down.url):
			for retries in (0, 1, 3):
				with self.subTest(retries=retries):
					before = redis_down.hung_up
					with self.assertRaises(PublishError):
						publish.publish(room, EVENT, 1, retries=retries)
					self.assertEqual(redis_down.hung_up - before, retries + 1)
		self.assertEqual(room_head(room)["seq"], 0)

	def test_publish_with_retries_succeeds_when_redis_comes_back(self):
		room = self.room()
		publish.publish(room, EVENT, "before")
		with FlakyRedis(frappe.conf.redis_queue, hang_ups=1) as flaky, queue_redis_at(flaky.url):
			seq = publish.publish(room, EVENT, "after", retries=2)
		self.assertEqual(flaky.hung_up, 1)
		self.assertEqual(seq, 2)
		self.assertEqual([e["data"] for e in history(room, 0)["events"]], ["before", "after"])

	def test_publish_without_retries_raises_even_if_redis_comes_back_at_once(self):
		room = self.room()
		publish.publish(room, EVENT, "before")
		with FlakyRedis(frappe.conf.redis_queue, hang_ups=1) as flaky, queue_redis_at(flaky.url):
			with self.assertRaises(PublishError):
				publish.publish(room, EVENT, "after")
			self.assertEqual(
				publish.publish(room, EVENT, "later"), 2, msg="the front relays after one hang-up"
			)
		self.assertEqual([e["data"] for e in history(room, 0)["events"]], ["before", "later"])

	def test_first_publish_of_a_process_raises_publish_error_when_redis_is_down(self):
		room = self.room()
		with queue_redis_at(self.dead_redis(), new_process=True), self.assertRaises(PublishError):
			publish.publish(room, EVENT, "lost?", retries=1)

	def test_first_publish_of_a_process_retries_until_redis_comes_back(self):
		room = self.room()
		with (
			FlakyRedis(frappe.conf.redis_queue, hang_ups=1) as flaky,
			queue_redis_at(flaky.url, new_process=True),
		):
			self.assertEqual(publish.publish(room, EVENT, "after the blip", retries=2), 1)

	def test_first_history_read_of_a_process_raises_publish_error_when_redis_is_down(self):
		room = self.room()
		with queue_redis_at(self.dead_redis(), new_process=True), self.assertRaises(PublishError):
			history(room, 0)


class TestPublishLimits(PublishTestCase):
	def assert_refused(self, room: str, events: list[Event], message: str):
		"""Publishing `events` raises a PublishError mentioning `message`, and `room` does not move."""
		before = room_head(room)["seq"]
		with self.assertRaises(PublishError) as raised:
			publish_many(events)
		self.assertIn(message, str(raised.exception))
		self.assertEqual(room_head(room)["seq"], before)

	def test_bad_events_are_refused_and_nothing_is_published(self):
		self.conf(webview_max_payload=100)
		room = self.room()
		publish.publish(room, EVENT, "x" * 90)  # under the limit
		cases = [
			("payload over the limit", Event(room, EVENT, "x" * 101), "over the 100-byte limit"),
			(
				"date is not JSON",
				Event(room, EVENT, {"when": frappe.utils.now_datetime()}),
				"not JSON-serialisable",
			),
			("object is not JSON", Event(room, EVENT, object()), "not JSON-serialisable"),
			("NaN is not JSON", Event(room, EVENT, float("nan")), "not JSON-serialisable"),
			("set is not JSON", Event(room, EVENT, {1, 2}), "not JSON-serialisable"),
			("empty event name", Event(room, "", 1), "non-empty string name"),
			("event name not a string", Event(room, 42, 1), "non-empty string name"),
		]
		for label, event, message in cases:
			with self.subTest(label):
				self.assert_refused(room, [event], message)

	def test_default_payload_limit_is_64_kb(self):
		room = self.room()
		publish.publish(room, EVENT, "x" * (64 * 1024 - 2))  # 2 bytes of JSON quotes
		self.assert_refused(room, [Event(room, EVENT, "x" * (64 * 1024 - 1))], "over the 65536-byte limit")

	def test_unknown_rooms_are_refused(self):
		cases = [
			("user that does not exist", user_room("no-such-user-wvk@example.com")),
			("user room without a user", "user:"),
			("doctype that does not exist", doc_room("No Such Doctype", "x")),
			("doc room without a name", "doc:ToDo/"),
			("doc room without a slash", "doc:ToDo"),
			("unknown kind", "room:lobby"),
			("no kind", "lobby"),
		]
		for label, room in cases:
			with self.subTest(label):
				conn = queue_redis.connection()
				with self.assertRaises(PublishError) as raised:
					publish.publish(room, EVENT, 1)
				self.assertIn("Unknown room", str(raised.exception))
				self.assertFalse(conn.exists(*publish._keys(room)), msg=f"{room} got keys")

	def test_one_bad_event_stops_the_whole_batch(self):
		self.conf(webview_max_payload=100)
		good, other = self.room(), self.room()
		self.assert_refused(
			good, [Event(good, EVENT, 1), Event(other, EVENT, "x" * 200)], "over the 100-byte limit"
		)
		self.assert_refused(good, [Event(good, EVENT, 1), Event("room:lobby", EVENT, 1)], "Unknown room")
		self.assertEqual(room_head(other)["seq"], 0)
