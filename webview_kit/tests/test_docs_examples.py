"""The Python examples of the README and the docs run as written, so they cannot rot.

Each page's ```python blocks run in order in one namespace, as a reader would paste them
into an app (a later block may use what an earlier one defined). A block of `webview_*`
assignments only is `hooks.py` content: it is applied as the app's hooks for the rest of
its page. What the examples assume exists is created here: their users, a "Sales Order"
DocType (custom, unless an app brings one) with the document SO-0001, and a stand-in for
each `myapp/templates/...` template they name.
"""

import ast
import inspect
import re
from contextlib import ExitStack
from pathlib import Path
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase, patch_hooks
from jinja2 import ChoiceLoader, FunctionLoader

from webview_kit import actions, fragments
from webview_kit.publish import Room, history, room_head
from webview_kit.tests.support import clear_room, ensure_user

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
	"README.md",
	"docs/publishing.md",
	"docs/actions.md",
	"docs/fragments.md",
	"docs/templates.md",
	"docs/web-pages.md",
]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
USERS = ("jane@example.com", "ana@example.com")
ORDER = "Sales Order"
# Every template an example names: one element with an id, as an item template must be.
STAND_IN = '<div id="ev-3">{{ fragment_target }}</div>'


def python_blocks(page: str) -> list[str]:
	return BLOCK.findall((ROOT / page).read_text())


def is_hooks(block: str) -> bool:
	"""Whether `block` is hooks.py content: assignments to `webview_*` names, nothing else."""
	statements = ast.parse(block).body
	return bool(statements) and all(
		isinstance(s, ast.Assign)
		and all(isinstance(t, ast.Name) and t.id.startswith("webview_") for t in s.targets)
		for s in statements
	)


def ensure_sales_order() -> bool:
	"""Create the examples' Sales Order DocType and SO-0001 unless there; True if the DocType was made."""
	made = False
	if not frappe.db.exists("DocType", ORDER):
		frappe.get_doc(
			{
				"doctype": "DocType",
				"name": ORDER,
				"module": "Webview Kit",
				"custom": 1,
				"autoname": "field:order_no",
				"fields": [
					{"fieldname": "order_no", "fieldtype": "Data", "label": "Order", "unique": 1},
					{"fieldname": "status", "fieldtype": "Data", "label": "Status"},
				],
				"permissions": [{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1}],
			}
		).insert()
		made = True
	if not frappe.db.exists(ORDER, "SO-0001"):
		frappe.get_doc({"doctype": ORDER, "order_no": "SO-0001", "status": "Draft"}).insert()
	frappe.db.commit()
	return made


class TestDocsExamples(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		for user in USERS:
			ensure_user(user)
		cls.made_order_doctype = ensure_sales_order()

	@classmethod
	def tearDownClass(cls):
		if cls.made_order_doctype:
			frappe.delete_doc("DocType", ORDER, force=True)
			frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		frappe.set_user("Administrator")
		for user in USERS:
			clear_room(str(Room.of_user(user)))
		jenv = frappe.get_jenv()
		loader = ChoiceLoader([jenv.loader, FunctionLoader(lambda name: STAND_IN if "/" in name else None)])
		stand_ins = jenv.overlay(autoescape=True, loader=loader)
		self.enterContext(patch.object(fragments, "_environment", lambda: stand_ins))
		registered = set(actions.REGISTRY)
		self.addCleanup(lambda: [actions.REGISTRY.pop(n) for n in set(actions.REGISTRY) - registered])
		self.addCleanup(frappe.db.rollback)

	def run_page(self, page: str) -> None:
		blocks = python_blocks(page)
		self.assertTrue(blocks, f"{page} has no python examples")
		namespace = {"__name__": "myapp.example"}
		with ExitStack() as hooks:
			for number, block in enumerate(blocks, 1):
				with self.subTest(page=page, block=number):
					if is_hooks(block):
						declared = {}
						exec(compile(block, f"{page} block {number}", "exec"), {}, declared)
						hooks.enter_context(patch_hooks(declared))
						frappe.local.webview_kit_fragments = None  # read the hooks afresh
					else:
						exec(compile(block, f"{page} block {number}", "exec"), namespace)
		frappe.local.webview_kit_fragments = None
		self.check_rooms_of_actions(page)

	def check_rooms_of_actions(self, page: str) -> None:
		"""Call the `rooms` of each action the page declared, as an invocation would."""
		for name, spec in actions.REGISTRY.items():
			if name.startswith("myapp.") and spec.rooms:
				with self.subTest(page=page, action=name):
					wanted = inspect.signature(spec.rooms).parameters
					rooms = spec.rooms(**{arg: "SO-0001" for arg in wanted})
					self.assertEqual([str(Room.parse(r)) for r in rooms], [f"doc:{ORDER}/SO-0001"])

	def test_the_readme_examples_run_as_written(self):
		jane = str(Room.of_user("jane@example.com"))
		before = room_head(jane)["seq"]
		self.run_page("README.md")
		self.assertEqual([e["event"] for e in history(jane, before)["events"]], ["myapp.delivery"])
		self.assertIn("myapp.example.approve", actions.REGISTRY)

	def test_the_docs_examples_run_as_written(self):
		for page in PAGES[1:]:
			self.run_page(page)

	def test_a_custom_coalesce_key_keeps_the_latest_value_per_key(self):
		from webview_kit.publish import publish

		jane = str(Room.of_user("jane@example.com"))
		for job, percent in ((1, 10), (2, 10), (1, 50)):
			publish(jane, "myapp.job", {"job": job, "percent": percent}, coalesce=f"job:{job}")
		events = history(jane, 0)["events"]
		self.assertEqual([e["data"] for e in events], [{"job": 2, "percent": 10}, {"job": 1, "percent": 50}])
