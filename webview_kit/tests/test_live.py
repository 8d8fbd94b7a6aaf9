"""Live documents: what a save, delete, share and unshare publish, and to whom."""

import json
import time
from unittest.mock import patch

import frappe
from frappe.share import add_docshare, set_docshare_permission
from frappe.tests.utils import FrappeTestCase

from webview_kit import live
from webview_kit.fragments import EVENT_FRAGMENT
from webview_kit.infra import queue_redis
from webview_kit.publish import CHANNEL, PublishError, doc_room, history, room_head, user_room
from webview_kit.tests.support import clear_room, ensure_demo, ensure_user

TASK = "Webview Demo Task"
READER = "wvk-live-reader@example.com"
STRANGER = "wvk-live-stranger@example.com"


class LiveTestCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_demo()
		ensure_user(READER)
		ensure_user(STRANGER)

	def setUp(self):
		for user in (READER, STRANGER):
			clear_room(user_room(user))
		self.heads = {user: room_head(user_room(user))["seq"] for user in (READER, STRANGER)}

	def task(self, share_with: tuple[str, ...] = (READER,), **fields) -> str:
		doc = frappe.get_doc({"doctype": TASK, "title": "Stack the boxes", **fields}).insert()
		for user in share_with:
			add_docshare(TASK, doc.name, user, flags={"ignore_share_permission": True})
		frappe.db.commit()
		self.addCleanup(self.delete, doc.name)
		clear_room(doc_room(TASK, doc.name))
		self.addCleanup(clear_room, doc_room(TASK, doc.name))
		return doc.name

	def delete(self, name: str) -> None:
		if frappe.db.exists(TASK, name):
			frappe.delete_doc(TASK, name)
			frappe.db.commit()

	def save(self, name: str, **fields) -> None:
		doc = frappe.get_doc(TASK, name)
		doc.update(fields)
		doc.save()
		frappe.db.commit()

	def rows(self, user: str) -> list[dict]:
		"""Row fragments of the task list `user`'s room got since the test began."""
		events = history(user_room(user), self.heads[user])["events"]
		target = live.list_target(TASK)
		return [e["data"] for e in events if e["event"] == EVENT_FRAGMENT and e["data"]["target"] == target]

	def doc_events(self, name: str) -> list[tuple[str, dict]]:
		return [(e["event"], e["data"]) for e in history(doc_room(TASK, name), 0)["events"]]


class TestDocumentRoom(LiveTestCase):
	def test_a_save_publishes_the_shown_fields_to_the_document_room(self):
		name = self.task()
		self.save(name, status="Working", progress=40)
		event, data = self.doc_events(name)[-1]
		self.assertEqual(event, live.EVENT_DOC)
		self.assertEqual((data["name"], data["status"], data["progress"]), (name, "Working", 40))
		self.assertEqual(data["modified_by_name"], "Administrator")

	def test_a_delete_tells_the_document_room_then_forgets_it(self):
		name = self.task()
		self.save(name, status="Working")
		channel = queue_redis.connection().pubsub(ignore_subscribe_messages=True)
		channel.subscribe(CHANNEL)
		self.addCleanup(channel.close)
		self.delete(name)
		sent, deadline = [], time.monotonic() + 2
		while time.monotonic() < deadline:
			if message := channel.get_message(timeout=0.2):
				sent.append(json.loads(message["data"]))
		ours = [
			m for m in sent if m["room"] == doc_room(TASK, name) and m["event"].startswith("webview_kit.")
		]
		told = [(m["event"], m["message"]["data"]) for m in ours]
		self.assertEqual(told, [(live.EVENT_DOC_DELETED, {"name": name})])
		self.assertEqual(
			room_head(doc_room(TASK, name))["seq"], 0, msg="a new task of that name starts afresh"
		)

	def test_nothing_is_published_before_the_commit_nor_after_a_rollback(self):
		name = self.task()
		seq = room_head(doc_room(TASK, name))["seq"]
		doc = frappe.get_doc(TASK, name)
		doc.status = "Done"
		doc.save()
		self.assertEqual(room_head(doc_room(TASK, name))["seq"], seq)
		frappe.db.rollback()
		self.assertEqual(room_head(doc_room(TASK, name))["seq"], seq)

	def test_a_doctype_that_is_not_live_publishes_nothing(self):
		todo = frappe.get_doc({"doctype": "ToDo", "description": "not live"}).insert()
		frappe.db.commit()
		self.addCleanup(frappe.db.commit)
		self.addCleanup(todo.delete)
		self.assertEqual(room_head(doc_room("ToDo", todo.name))["seq"], 0)

	def test_a_publish_failure_does_not_fail_the_save(self):
		name = self.task()
		with patch.object(live, "publish_many", side_effect=PublishError("Redis is down")):
			self.save(name, status="Done")
		self.assertEqual(frappe.db.get_value(TASK, name, "status"), "Done")


class TestListRows(LiveTestCase):
	def test_a_save_sends_the_row_to_those_it_is_shared_with_only(self):
		name = self.task(share_with=(READER,))
		self.save(name, status="Working")
		row = self.rows(READER)[-1]
		self.assertEqual((row["op"], row["id"]), ("prepend", f"wvk-row-{name}"))
		self.assertIn('data-state="working">Working</span>', row["html"])
		self.assertEqual(self.rows(STRANGER), [])

	def test_sharing_sends_the_row_and_unsharing_removes_it(self):
		name = self.task(share_with=())
		add_docshare(TASK, name, STRANGER, flags={"ignore_share_permission": True})
		frappe.db.commit()
		set_docshare_permission(TASK, name, STRANGER, "read", 0, flags={"ignore_share_permission": True})
		frappe.db.commit()
		ops = [r["op"] for r in self.rows(STRANGER) if r["id"] == f"wvk-row-{name}"]
		self.assertEqual((ops[0], ops[-1]), ("prepend", "remove"), ops)

	def test_a_delete_removes_the_row(self):
		name = self.task()
		self.delete(name)
		target = live.list_target(TASK)
		self.assertEqual(
			self.rows(READER)[-1], {"target": target, "op": "remove", "html": "", "id": f"wvk-row-{name}"}
		)

	def test_list_rows_holds_only_what_the_user_may_read(self):
		shared, other = self.task(share_with=(READER,)), self.task(share_with=(STRANGER,))
		frappe.set_user(READER)
		self.addCleanup(frappe.set_user, "Administrator")
		names = [row["name"] for row in live.list_rows(TASK)]
		self.assertIn(shared, names)
		self.assertNotIn(other, names)

	def test_a_document_not_shared_cannot_be_opened(self):
		name = self.task(share_with=(STRANGER,))
		frappe.set_user(READER)
		self.addCleanup(frappe.set_user, "Administrator")
		for doctype, docname in ((TASK, name), (TASK, "no-such-task"), ("ToDo", name)):
			with self.subTest(doctype=doctype, name=docname), self.assertRaises(frappe.PermissionError):
				live.check_read(doctype, docname)
