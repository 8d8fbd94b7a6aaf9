"""Live fragments: rendered escaped, refused loudly, coalesced per target, re-rendered on save."""

from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from webview_kit_demo import orders

from webview_kit import fragments, settings
from webview_kit.fragments import EVENT_FRAGMENT, publish_fragment
from webview_kit.publish import PublishError, doc_room, history, room_head, user_room
from webview_kit.tests.support import clear_room, ensure_demo, ensure_user

READER = "wvk-fragment-reader@example.com"
HOSTILE = "<img src=x onerror=alert(1)>"
ROWS = "webview_kit.list_rows:Webview Demo Task"
TIMELINE = orders.TIMELINE


def row(title: str, name: str = "WDT-1") -> dict:
	return {
		"row": {"name": name, "title": title, "status": "Open"},
		"title_field": "title",
		"chips": ["status"],
	}


class FragmentTestCase(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_demo()
		ensure_user(READER)

	def setUp(self):
		self.room = user_room(READER)
		clear_room(self.room)
		self.addCleanup(clear_room, self.room)

	def fragments_in(self, room: str) -> list[dict]:
		return [e["data"] for e in history(room, 0)["events"] if e["event"] == EVENT_FRAGMENT]


class TestRendering(FragmentTestCase):
	def test_a_hostile_value_renders_as_text(self):
		html = fragments.render(ROWS, row(HOSTILE), item=True)
		self.assertIn("&lt;img src=x onerror=alert(1)&gt;", html)
		self.assertNotIn("<img", html)

	def test_the_page_helper_renders_what_is_published(self):
		publish_fragment(self.room, ROWS, row("Pack order 1042"), op="prepend")
		(published,) = self.fragments_in(self.room)
		self.assertEqual(published["html"], str(fragments.render(ROWS, row("Pack order 1042"), item=True)))
		self.assertEqual(published["id"], "wvk-row-WDT-1")

	def test_an_escaped_id_is_the_id_the_browser_sees(self):
		publish_fragment(self.room, ROWS, row("x", name='a"b&c'), op="append")
		(published,) = self.fragments_in(self.room)
		self.assertEqual(published["id"], 'wvk-row-a"b&c')


class TestRefusals(FragmentTestCase):
	def assert_refused(self, message: str, *args, **kwargs):
		head = room_head(self.room)["seq"]
		with self.assertRaisesRegex(PublishError, message):
			publish_fragment(self.room, *args, **kwargs)
		self.assertEqual(room_head(self.room)["seq"], head, "nothing was published")

	def test_an_unknown_target_is_refused(self):
		self.assert_refused("Unknown fragment 'order-lines'", "order-lines", {})

	def test_an_unknown_operation_is_refused(self):
		self.assert_refused("Unknown fragment operation 'morph'", ROWS, row("x"), op="morph")

	def test_an_oversized_fragment_is_refused(self):
		limit = settings.get("max_payload")
		self.assert_refused("over the .*-byte limit", ROWS, row("x" * limit), op="append")

	def test_a_template_that_raises_is_refused(self):
		broken = frappe._dict(lines=[frappe._dict(name="1", item="Cups", qty="two", rate="three")])
		self.assert_refused(
			"did not render, nothing was published: TypeError", "webview_demo.order_lines", {"doc": broken}
		)

	def test_an_item_without_an_id_is_refused(self):
		with patch.object(fragments, "_ROOT_ID", fragments.re.compile("(?!)")):
			self.assert_refused("an item must render one element with an id", ROWS, row("x"), op="append")

	def test_item_is_only_for_removing(self):
		self.assert_refused("`item` names the element to remove", ROWS, row("x"), item="wvk-row-1")


class TestHistory(FragmentTestCase):
	def test_history_keeps_the_newest_html_of_a_target_and_every_item_in_order(self):
		publish_fragment(self.room, ROWS, {"rows": [], "title_field": "title", "chips": []})
		publish_fragment(self.room, ROWS, row("first", "WDT-1"), op="append")
		publish_fragment(self.room, ROWS, row("second", "WDT-2"), op="append")
		publish_fragment(
			self.room, ROWS, {"rows": [row("third")["row"]], "title_field": "title", "chips": []}
		)
		publish_fragment(self.room, ROWS, row("fourth", "WDT-4"), op="prepend")
		kept = [(f["op"], f.get("id")) for f in self.fragments_in(self.room)]
		self.assertEqual(
			kept,
			[
				("append", "wvk-row-WDT-1"),
				("append", "wvk-row-WDT-2"),
				("update", None),
				("prepend", "wvk-row-WDT-4"),
			],
		)

	def test_coalescing_one_target_leaves_other_targets_alone(self):
		publish_fragment(self.room, ROWS, {"rows": [], "title_field": "title", "chips": []})
		publish_fragment(self.room, ROWS + "2", {"rows": [], "title_field": "title", "chips": []})
		publish_fragment(self.room, ROWS, {"rows": [], "title_field": "title", "chips": []})
		self.assertEqual([f["target"] for f in self.fragments_in(self.room)], [ROWS + "2", ROWS])


class TestDocumentFragments(FragmentTestCase):
	def test_a_save_renders_the_fragments_declared_for_its_doctype_into_its_room(self):
		name = orders.create("Café Lumen", READER)
		room = doc_room(orders.ORDER, name)
		self.addCleanup(clear_room, room)
		doc = frappe.get_doc(orders.ORDER, name)
		doc.append("lines", {"item": "Oat milk", "qty": 6, "rate": 2.2})
		orders.save(doc, "Packed 6 × Oat milk")
		frappe.db.commit()
		shown = {f["target"]: f for f in self.fragments_in(room)}
		self.assertEqual(
			set(shown),
			{"webview_demo.order_status", "webview_demo.order_lines", "webview_demo.order_totals", TIMELINE},
		)
		self.assertIn("13.20", shown["webview_demo.order_totals"]["html"])
		self.assertEqual(shown[TIMELINE]["op"], "append")
		self.assertIn("Packed 6 × Oat milk", shown[TIMELINE]["html"])

	def test_a_fragment_that_does_not_render_does_not_fail_the_save(self):
		name = orders.create("Café Lumen", READER)
		self.addCleanup(clear_room, doc_room(orders.ORDER, name))
		doc = frappe.get_doc(orders.ORDER, name)
		with patch.object(fragments, "render", side_effect=PublishError("broken")):
			doc.customer = "Café Sol"
			doc.save()
			frappe.db.commit()
		self.assertEqual(frappe.db.get_value(orders.ORDER, name, "customer"), "Café Sol")
