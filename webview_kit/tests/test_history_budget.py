"""Bounded history: a room's bytes, and the whole site's, in the queue Redis."""

from webview_kit import publish
from webview_kit.infra import queue_redis
from webview_kit.publish import Event, history, publish_many, room_head
from webview_kit.tests.test_publish import EVENT, PublishTestCase

ENTRY_OVERHEAD, ROOM_OVERHEAD = 64, 5376  # as _PUBLISH_LUA counts them


class BudgetTestCase(PublishTestCase):
	def base(self, room: str) -> str:
		return publish._keys(room)[0][: -len(":meta")]

	def counted(self, room: str) -> int:
		sizes = publish._budget_keys()[1]
		return int(queue_redis.connection().hget(sizes, self.base(room)) or 0)

	def total(self) -> int:
		return int(queue_redis.connection().get(publish._budget_keys()[2]) or 0)

	def kept(self, room: str) -> int:
		"""What `room` holds, counted afresh from its keys as the script counts it."""
		conn = queue_redis.connection()
		_meta, stream, latest = publish._keys(room)
		entries = conn.xrange(stream)
		if not conn.exists(publish._keys(room)[0]):
			return 0
		values = conn.hvals(latest)
		return (
			ROOM_OVERHEAD
			+ sum(len(fields[b"e"]) + ENTRY_OVERHEAD for _id, fields in entries)
			+ sum(len(v) + ENTRY_OVERHEAD for v in values)
		)

	def stream_bytes(self, room: str) -> int:
		entries = queue_redis.connection().xrange(publish._keys(room)[1])
		return sum(len(fields[b"e"]) + ENTRY_OVERHEAD for _id, fields in entries)


class TestRoomBytes(BudgetTestCase):
	def test_history_is_trimmed_by_bytes_as_well_as_by_count(self):
		self.conf(webview_history_room_kb=16)
		room = self.room()
		for n in range(20):
			publish.publish(room, EVENT, {"n": n, "text": "x" * 2000})

		self.assertLessEqual(self.stream_bytes(room), 16 * 1024)
		kept = [e["seq"] for e in history(room, 0)["events"]]
		self.assertEqual(kept, list(range(kept[0], 21)), msg="the newest events are kept, in order")
		self.assertLess(len(kept), 10)

	def test_a_page_behind_what_bytes_trimmed_gets_a_gap_and_one_at_the_edge_does_not(self):
		self.conf(webview_history_room_kb=16)
		room = self.room()
		for n in range(20):
			publish.publish(room, EVENT, {"n": n, "text": "x" * 2000})
		first = history(room, 0)["events"][0]["seq"]

		self.assertTrue(history(room, first - 2)["gap"])
		self.assertFalse(history(room, first - 1)["gap"])
		self.assertEqual(history(room, 0)["snapshot"][-1]["data"]["n"], 19)

	def test_an_event_bigger_than_the_room_budget_is_a_gap_with_itself_as_the_snapshot(self):
		self.conf(webview_history_room_kb=16)
		room = self.room()
		publish.publish(room, EVENT, "small")
		publish.publish(room, EVENT, "x" * 20_000)

		result = history(room, 1)
		self.assertTrue(result["gap"])
		self.assertEqual([e["seq"] for e in result["snapshot"]], [2])

	def test_what_a_room_is_counted_at_is_what_it_holds(self):
		self.conf(webview_history_room_kb=16)
		room = self.room()
		publish_many([Event(room, EVENT, "x" * 1500) for _ in range(5)])
		publish_many([Event(room, "webview_kit.other", n, coalesce=True) for n in range(5)])
		for n in range(20):
			publish.publish(room, EVENT, {"n": n, "text": "y" * 900})
		self.assertEqual(self.counted(room), self.kept(room))

	def test_forgetting_a_room_takes_its_bytes_off_the_total(self):
		room = self.room()
		publish.publish(room, EVENT, "x" * 5000)
		before, counted = self.total(), self.counted(room)
		self.assertGreater(counted, 5000)

		publish.forget(room)

		self.assertEqual(self.total(), before - counted)
		self.assertEqual(self.counted(room), 0)


class TestSiteBudget(BudgetTestCase):
	def test_over_the_site_budget_the_rooms_published_to_longest_ago_expire_early(self):
		self.conf(webview_history_budget_mb=1)
		rooms = [self.room() for _ in range(20)]
		for room in rooms:
			publish_many([Event(room, EVENT, {"text": "x" * 10_000}) for _ in range(10)])
			self.assertLessEqual(self.total(), 1024 * 1024)

		self.assertEqual(room_head(rooms[0])["seq"], 0, msg="the oldest room's history expired early")
		self.assertEqual(room_head(rooms[-1])["seq"], 10, msg="the newest room is whole")
		self.assertEqual(len(history(rooms[-1], 0)["events"]), 10)
		self.assertLessEqual(sum(self.kept(room) for room in rooms), 1024 * 1024)

	def test_a_page_on_an_evicted_room_sees_a_new_epoch_not_silent_loss(self):
		self.conf(webview_history_budget_mb=1)
		first = self.room()
		publish.publish(first, EVENT, "before")
		epoch = room_head(first)["epoch"]
		for room in [self.room() for _ in range(12)]:
			publish_many([Event(room, EVENT, {"text": "x" * 10_000}) for _ in range(10)])

		publish.publish(first, EVENT, "after")

		result = history(first, 1, epoch)
		self.assertTrue(result["gap"])
		self.assertEqual([e["data"] for e in result["snapshot"]], ["after"])

	def test_an_expired_room_is_taken_off_the_total(self):
		gone, other = self.room(), self.room()
		publish.publish(gone, EVENT, "x" * 5000)
		counted, before = self.counted(gone), self.total()
		conn = queue_redis.connection()
		conn.delete(*publish._keys(gone))  # what its expiry does
		rooms = publish._budget_keys()[0]
		conn.zadd(rooms, {self.base(gone): 0})  # its expiry time has passed

		publish.publish(other, EVENT, 1)

		self.assertEqual(self.counted(gone), 0)
		self.assertIsNone(conn.zscore(rooms, self.base(gone)))
		# Other rooms that expired meanwhile may have been taken off in the same call.
		self.assertLessEqual(self.total(), before - counted + self.counted(other))

	def test_budgets_are_settings_and_a_room_never_gets_the_whole_site_budget(self):
		self.conf(webview_history_room_kb=4096, webview_history_budget_mb=2)
		self.assertEqual(publish.budgets(), (512 * 1024, 2 * 1024 * 1024))
		self.conf(webview_history_room_kb=64, webview_history_budget_mb=100)
		self.assertEqual(publish.budgets(), (64 * 1024, 100 * 1024 * 1024))
