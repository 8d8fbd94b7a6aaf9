"""Retried publishes are idempotent: a reply lost after the script ran never publishes twice.

The Redis is the real queue Redis; only the reply is dropped, by a wrapper around the
process's connection that raises ConnectionError after the command returned (what
redis-py raises when the socket dies between sending a command and reading its answer).
"""

from unittest.mock import patch

import redis

from webview_kit import publish
from webview_kit.infra import queue_redis
from webview_kit.publish import Event, PublishError, history, publish_many, room_head
from webview_kit.tests.test_publish import EVENT, PublishTestCase


class LosesReplies:
	"""The queue Redis connection, but the replies of the next `lose` script round trips are lost.

	`partial=True`: of a pipelined batch, only the first script call reaches Redis before the
	connection dies (the later chunks are never sent).
	"""

	def __init__(self, connection: redis.Redis, lose: int = 1, partial: bool = False):
		self._connection = connection
		self.lose = lose
		self.partial = partial
		self.lost = 0

	def __getattr__(self, name):
		return getattr(self._connection, name)

	def _drop(self):
		if self.lose:
			self.lose -= 1
			self.lost += 1
			raise redis.exceptions.ConnectionError("Connection closed by server (the reply was lost)")

	def evalsha(self, *args):
		result = self._connection.evalsha(*args)
		self._drop()
		return result

	def pipeline(self, transaction: bool = True):
		pipe = self._connection.pipeline(transaction=transaction)
		execute = pipe.execute

		def lossy_execute(*args, **kwargs):
			if self.partial and self.lose:
				self._connection.execute_command(*pipe.command_stack[0][0])
				pipe.reset()
			else:
				result = execute(*args, **kwargs)
			self._drop()
			return result

		pipe.execute = lossy_execute
		return pipe


class TestIdempotentRetries(PublishTestCase):
	def losing(self, **kwargs) -> LosesReplies:
		lossy = LosesReplies(queue_redis.connection(), **kwargs)
		patcher = patch.object(queue_redis, "connection", lambda: lossy)
		patcher.start()
		self.addCleanup(patcher.stop)
		return lossy

	def data(self, room: str) -> list:
		return [e["data"] for e in history(room, 0)["events"]]

	def test_a_retry_after_a_lost_reply_returns_the_same_seq_and_publishes_once(self):
		room = self.room()
		publish.publish(room, EVENT, "before")
		lossy = self.losing(lose=1)

		seq = publish.publish(room, EVENT, "once", retries=2)

		self.assertEqual(lossy.lost, 1)
		self.assertEqual(seq, 2)
		self.assertEqual(self.data(room), ["before", "once"])
		self.assertEqual(room_head(room)["seq"], 2)

	def test_a_big_batch_whose_replies_are_lost_after_every_chunk_ran_is_published_once(self):
		room = self.room()
		self.losing(lose=1)
		count = publish.SCRIPT_BATCH + 100

		seqs = publish_many([Event(room, EVENT, n) for n in range(count)], retries=1)

		self.assertEqual(seqs, list(range(1, count + 1)))
		self.assertEqual(self.data(room), list(range(count)))

	def test_a_big_batch_cut_off_after_its_first_chunk_ran_is_published_once(self):
		room = self.room()
		lossy = self.losing(lose=1, partial=True)
		count = publish.SCRIPT_BATCH + 100

		seqs = publish_many([Event(room, EVENT, n) for n in range(count)], retries=1)

		self.assertEqual(lossy.lost, 1)
		self.assertEqual(seqs, list(range(1, count + 1)))
		self.assertEqual(self.data(room), list(range(count)))

	def test_two_calls_with_the_same_event_both_publish(self):
		room = self.room()
		self.assertEqual([publish.publish(room, EVENT, "same", retries=1) for _ in range(2)], [1, 2])
		self.assertEqual(self.data(room), ["same", "same"])

	def test_a_call_that_ran_but_lost_every_reply_says_it_published_at_most_once(self):
		room = self.room()
		self.losing(lose=3)
		with self.assertRaises(PublishError) as raised:
			publish.publish(room, EVENT, "once", retries=2)
		self.assertIn("published once or not at all", str(raised.exception))
		self.assertEqual(self.data(room), ["once"])

	def test_the_ran_marks_expire_and_a_call_without_retries_leaves_none(self):
		conn = queue_redis.connection()
		pattern = f"{publish.KEY_PREFIX}*:ran:*"
		before = set(conn.scan_iter(match=pattern, count=1000))
		room = self.room()
		publish.publish(room, EVENT, 1)
		self.assertEqual(set(conn.scan_iter(match=pattern, count=1000)) - before, set())

		publish.publish(room, EVENT, 2, retries=3)
		(mark,) = set(conn.scan_iter(match=pattern, count=1000)) - before
		self.assertTrue(0 < conn.ttl(mark) <= publish.RAN_MARK_MARGIN + 1, msg=conn.ttl(mark))
		conn.delete(mark)
