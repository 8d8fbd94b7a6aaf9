"""The demo order's actions through Frappe's WSGI app: `permission=` keeps readers from acting.

Frappe's own refusal (403) for a signed-in user who may read an order but not write it,
before the action runs; the driver, who may write, delivers it.
"""

import json

import frappe
from frappe.share import add_docshare
from frappe.tests.utils import FrappeTestCase
from webview_kit_demo import orders, users

from webview_kit.tests.support import ensure_demo, ensure_user, request, wsgi_client

DRIVER = "wvk-demo-driver@example.com"
READER = "wvk-demo-reader@example.com"


class TestDemoOrderActions(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_demo()
		ensure_user(DRIVER)
		ensure_user(READER)

	def setUp(self):
		frappe.set_user("Administrator")
		self.order = orders.create("Café Lumen", DRIVER)  # the driver may read and write it
		add_docshare(orders.ORDER, self.order, READER, read=1, flags={"ignore_share_permission": True})
		frappe.db.commit()
		self.client = wsgi_client()

	def act(self, user: str, action: str, **args):
		data = {"action": f"webview_kit_demo.orders.{action}", "id": frappe.generate_hash(length=24)}
		data["args"] = json.dumps({"name": self.order, **args})
		headers = {"Authorization": f"token {users.new_api_key(user)}"}
		return request(self.client, "/api/method/webview_kit.api.act", "POST", data=data, headers=headers)

	def status(self) -> str:
		frappe.db.commit()  # a new snapshot: see what the request committed
		return frappe.db.get_value(orders.ORDER, self.order, "status")

	def timeline(self) -> list[str]:
		return [row.text for row in frappe.get_doc(orders.ORDER, self.order).timeline]

	def test_a_user_who_may_only_read_the_order_cannot_deliver_it(self):
		response = self.act(READER, "deliver")
		self.assertEqual(response.status_code, 403, msg=response.get_data(as_text=True)[:300])
		self.assertEqual(self.status(), "Draft")
		self.assertNotIn("Delivered", self.timeline())

	def test_a_user_who_may_only_read_the_order_cannot_add_a_note(self):
		response = self.act(READER, "add_note", note="Leave it at the back")
		self.assertEqual(response.status_code, 403, msg=response.get_data(as_text=True)[:300])
		self.status()
		self.assertEqual(self.timeline(), ["Order placed"])

	def test_a_user_without_any_share_cannot_deliver_it(self):
		stranger = ensure_user("wvk-demo-stranger@example.com")
		self.assertEqual(self.act(stranger, "deliver").status_code, 403)
		self.assertEqual(self.status(), "Draft")

	def test_the_driver_who_may_write_it_delivers_it(self):
		response = self.act(DRIVER, "deliver")
		self.assertEqual(response.status_code, 200, msg=response.get_data(as_text=True)[:300])
		self.assertEqual(self.status(), "Delivered")
		self.assertEqual(self.act(DRIVER, "add_note", note="Ring twice").status_code, 200)
		self.status()
		self.assertIn("Note: Ring twice", self.timeline())
