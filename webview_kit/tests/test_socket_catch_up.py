"""The catch-up v16's socket server answers (realtime/handlers.js), checked against publish.history.

Python publishes the histories and writes what `publish.history` answers for each case; Node's
test runner then runs the kit's handler against the same queue Redis and must answer the same.
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from webview_kit_demo.setup import DEMO_DOCTYPE

from webview_kit import page, publish, tickets
from webview_kit.infra import compat
from webview_kit.publish import Event, doc_room, publish_many, user_room
from webview_kit.tests.support import clear_room, ensure_demo, ensure_user

APP = Path(__file__).resolve().parents[2]
HANDLERS = APP / "realtime"
USER = "wvk-socket-catch-up@example.com"
SID = "a-socket-sid"


def redis_client_module() -> str:
	"""The bench's @redis/client, which Frappe's socket server uses too."""
	return str(Path(frappe.get_app_path("frappe")).parent / "node_modules" / "@redis" / "client")


class TestSocketCatchUp(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_demo()
		ensure_user(USER)

	def setUp(self):
		self.room = user_room(USER)
		self.doc = frappe.get_doc({"doctype": DEMO_DOCTYPE, "title": "Socket catch-up"}).insert(
			ignore_permissions=True
		)
		self.doc_room = doc_room(DEMO_DOCTYPE, self.doc.name)
		self.trimmed_room = doc_room(DEMO_DOCTYPE, f"{self.doc.name}-trimmed")
		self.empty_room = doc_room(DEMO_DOCTYPE, f"{self.doc.name}-empty")
		for room in (self.room, self.doc_room, self.trimmed_room, self.empty_room):
			clear_room(room)
			self.addCleanup(clear_room, room)

	def case(self, name: str, room: str, after: int, epoch: str = "") -> dict:
		return {
			"name": name,
			"room": room,
			"after": after,
			"epoch": epoch,
			"ticket": tickets.ticket(room, sid=SID),
			"expected": publish.history(room, after, epoch or None),
		}

	def publish_histories(self) -> None:
		events = [Event(self.room, "wvk.test.step", {"n": n}) for n in range(5)]
		events += [Event(self.room, "wvk.test.count", {"count": n}, coalesce=True) for n in range(3)]
		events += [Event(self.room, "wvk.test.step", {"n": 5, "text": "é ✓ </script>"})]
		publish_many(events)
		publish_many([Event(self.doc_room, "wvk.test.doc", {"v": n}) for n in range(3)])
		with patch.dict(frappe.local.conf, {"webview_history_length": 3}):
			publish_many([Event(self.trimmed_room, "wvk.test.step", {"n": n}) for n in range(6)])

	def test_the_socket_handler_answers_as_publish_history_does(self):
		node = shutil.which("node")
		self.assertIsNotNone(node, "Node is part of every Frappe bench")
		self.publish_histories()
		head = publish.room_head(self.room)
		cases = [
			self.case("from the start: the coalesced run is skipped to its latest", self.room, 0),
			self.case("from the middle", self.room, 2, head["epoch"]),
			self.case("inside the coalesced run", self.room, 6, head["epoch"]),
			self.case("at the head", self.room, head["seq"], head["epoch"]),
			self.case("another epoch: the counters restarted", self.room, 3, "0123456789abcdef"),
			self.case("trimmed away: a gap and the snapshot", self.trimmed_room, 1),
			self.case("a room with no history yet", self.empty_room, 0),
		]
		doc_case = {
			**self.case("a document room", self.doc_room, 1),
			"doctype": DEMO_DOCTYPE,
			"name": self.doc.name,
		}
		self.assertTrue(
			cases[5]["expected"]["gap"] and cases[4]["expected"]["gap"], "both gap kinds are covered"
		)
		given = {
			"site": frappe.local.site,
			"sid": SID,
			"user": USER,
			"user_room": self.room,
			"cases": cases,
			"doc_case": doc_case,
		}
		with tempfile.NamedTemporaryFile("w", suffix=".json") as written:
			json.dump(given, written)
			written.flush()
			env = {
				**os.environ,
				"WVK_CASES": written.name,
				"WVK_REDIS_URL": frappe.conf.redis_queue,
				"WVK_REDIS_CLIENT": redis_client_module(),
			}
			run = subprocess.run(
				[node, "--test", "--test-reporter=spec", str(HANDLERS / "tests")],
				env=env,
				capture_output=True,
				text=True,
				timeout=300,
			)
		self.assertEqual(run.returncode, 0, msg=f"{run.stdout[-6000:]}\n{run.stderr[-3000:]}")


class TestPageConfig(FrappeTestCase):
	def test_a_page_is_told_where_to_catch_up_and_gets_tickets_only_for_the_socket(self):
		context = frappe._dict()
		frappe.set_user("Administrator")
		room = user_room("Administrator")
		page.webview_context(context, [room])
		config = json.loads(context.webview_config)
		self.assertEqual(config["catch_up"], "socket" if compat.SOCKET_CATCH_UP else "http")
		self.assertEqual("ticket" in config["rooms"][room], compat.SOCKET_CATCH_UP)

	def test_a_ticket_is_bound_to_its_site_session_and_room(self):
		one = tickets.ticket("user:a@example.com", sid="s1")
		self.assertEqual(one, tickets.ticket("user:a@example.com", sid="s1"))
		self.assertNotEqual(one, tickets.ticket("user:a@example.com", sid="s2"))
		self.assertNotEqual(one, tickets.ticket("user:b@example.com", sid="s1"))
