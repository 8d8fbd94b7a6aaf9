"""A live list's rows link to their document's page, whatever the number of live DocTypes."""

import re
from html import unescape

import frappe
from frappe.share import add_docshare
from frappe.tests.utils import patch_hooks

from webview_kit import live
from webview_kit.tests.support import ensure_demo
from webview_kit.tests.test_requests import PASSWORD, READER, RequestTestCase

TASK = "Webview Demo Task"
LIST = f"/webview/list?doctype={TASK.replace(' ', '%20')}"


class TestListRowLinks(RequestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_demo()

	def setUp(self):
		super().setUp()
		doc = frappe.get_doc({"doctype": TASK, "title": "Label the crates"}).insert()
		add_docshare(TASK, doc.name, READER, flags={"ignore_share_permission": True})
		frappe.db.commit()
		self.name = doc.name
		self.addCleanup(lambda: (frappe.delete_doc(TASK, doc.name, force=True), frappe.db.commit()))
		# Two live DocTypes: a row link must say which one its document is.
		hooks = patch_hooks({"webview_live_doctypes": ["ToDo"]})
		hooks.__enter__()
		self.addCleanup(hooks.__exit__, None, None, None)
		self.assertEqual(live.settings.live_doctypes(), {TASK, "ToDo"})

	def row_link(self, html: str) -> str:
		found = re.search(rf'<li [^>]*data-name="{self.name}">\s*<a href="([^"]+)"', html)
		self.assertIsNotNone(found, msg=html[:2000])
		return unescape(found.group(1))

	def test_a_row_opens_its_document_in_a_desk_session(self):
		login = self.get("/api/method/login", method="POST", data={"usr": READER, "pwd": PASSWORD})
		self.assertEqual(login.status_code, 200)
		listing = self.get(LIST)
		self.assertEqual(listing.status_code, 200, msg=listing.get_data(as_text=True)[:500])

		document = self.get(self.row_link(listing.get_data(as_text=True)))

		self.assertEqual(document.status_code, 200, msg=document.get_data(as_text=True)[:500])
		self.assertIn("Label the crates", document.get_data(as_text=True))

	def test_a_pushed_row_links_as_the_rendered_one(self):
		doc = frappe.get_doc(TASK, self.name)
		pushed = live.row_events(doc, [READER])
		html = next(e.data["html"] for e in pushed if e.data.get("html"))
		self.assertIn(f"doctype={TASK.replace(' ', '%20')}", self.row_link(html))
