"""Actions: the registry, argument checks, the reach of deep-link sessions, and exactly once."""

import time
import unittest
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_to_date, now_datetime

from webview_kit import actions, scope
from webview_kit.actions import ActionArgumentError, ActionConflict, UnknownAction, action
from webview_kit.publish import doc_room
from webview_kit.tests.support import ensure_user, in_fresh_context, run_concurrently

ROUTE = "/webview/workflow"
HERE = __name__
MARKER = "wvk-action-test"
OTHER_USER = "wvk-actions-other@example.com"


def _rooms(name: str) -> list[str]:
	return [doc_room("ToDo", name)]


@action(route=ROUTE, rooms=_rooms, permission=None)
def note(name: str, text: str = "", pause: float = 0.0) -> dict:
	"""Leave a ToDo (the effect the tests count), pausing `pause` seconds inside the transaction."""
	todo = frappe.get_doc({"doctype": "ToDo", "description": f"{MARKER} {name} {text}"})
	todo.insert(ignore_permissions=True)
	time.sleep(pause)
	return {"todo": todo.name}


@action(route=ROUTE, permission=None)
def typed(
	text: str, whole: int, number: float, flag: bool, obj: dict, items: list, maybe: str | None = None
) -> dict:
	return {"number": number}


@action(route=ROUTE, permission=None)
def fails(name: str) -> None:
	frappe.get_doc({"doctype": "ToDo", "description": f"{MARKER} {name} failed"}).insert(
		ignore_permissions=True
	)
	frappe.throw("No, not this one.", frappe.ValidationError)


@action(route=ROUTE, rooms=_rooms, permission=("write", "ToDo"))
def edit(name: str, text: str) -> dict:
	"""Change ToDo `name`'s description: the kit checks write on it first, the function does not."""
	frappe.db.set_value("ToDo", name, "description", f"{MARKER} {text}")
	return {"name": name}


def setUpModule():
	# This module's actions are the tests' own: as an app does in hooks.py, declare the module.
	declared = patch.object(actions, "action_modules", return_value={*actions.action_modules(), HERE})
	declared.start()
	unittest.addModuleCleanup(declared.stop)


def not_an_action(name: str) -> None:
	raise AssertionError("an unmarked function ran")


def notes(name: str) -> int:
	frappe.db.commit()  # a new snapshot: see what other connections committed
	return frappe.db.count("ToDo", {"description": ["like", f"{MARKER} {name}%"]})


def new_id() -> str:
	return frappe.generate_hash(length=24)


class ActionTestCase(FrappeTestCase):
	def setUp(self):
		self.name = frappe.generate_hash(length=10)
		frappe.set_user("Administrator")

	def tearDown(self):
		frappe.db.rollback()
		frappe.db.delete("ToDo", {"description": ["like", f"{MARKER}%"]})
		frappe.db.commit()


class TestRegistry(ActionTestCase):
	def test_a_marked_function_is_found_by_its_dotted_path(self):
		found = actions.resolve(f"{HERE}.note")
		self.assertIs(found.fn, note)
		self.assertEqual(found.route, ROUTE)

	def test_a_marked_function_stays_callable_as_before(self):
		self.assertIn("todo", note(self.name))

	def test_names_that_are_not_marked_actions_are_unknown(self):
		for name in (
			f"{HERE}.not_an_action",  # a function, not marked
			"webview_kit.actions.run",  # the app's own code, not marked
			"webview_kit.no_such_module.fn",
			"os.path.join",  # not an installed app's
			"frappe.client.delete",
			"webview_kit",
			"../etc.passwd",
			None,
			"x" * 300,
		):
			with self.subTest(name=name), self.assertRaises(UnknownAction):
				actions.run(name, {"name": self.name}, new_id())

	def test_an_unmarked_function_never_runs(self):
		with self.assertRaises(UnknownAction):
			actions.run(f"{HERE}.not_an_action", {"name": "x"}, new_id())

	def test_a_signature_that_cannot_be_checked_is_refused_at_import(self):
		def untyped(name):
			pass

		def starred(*names: str):
			pass

		def odd(when: frappe._dict):
			pass

		for fn in (untyped, starred, odd):
			with self.subTest(fn=fn.__name__), self.assertRaises(TypeError):
				action(route=ROUTE, permission=None)(fn)

	def test_a_route_that_is_not_a_webview_page_is_refused(self):
		with self.assertRaises(TypeError):
			action(route="/app/todo", permission=None)

	def test_an_action_that_does_not_declare_its_permission_is_refused_at_import(self):
		with self.assertRaises(TypeError) as caught:
			action(route=ROUTE, rooms=_rooms)
		self.assertIn("permission=", str(caught.exception))

	def test_a_permission_that_cannot_be_checked_is_refused_at_import(self):
		for rooms, permission in (
			(_rooms, ("wrte", "ToDo")),  # not a Frappe ptype
			(_rooms, ("write", "ToDo", "extra")),
			(_rooms, ["write", "ToDo"]),  # a list: (ptype, doctype) is a tuple
			(_rooms, True),
			(None, ("write", "ToDo")),  # no rooms: no document to check it on
		):
			with self.subTest(permission=permission, rooms=rooms), self.assertRaises(TypeError):
				action(route=ROUTE, rooms=rooms, permission=permission)

	def test_a_marked_function_of_a_module_no_app_declares_is_unknown(self):
		with (
			patch.object(actions, "action_modules", return_value={"webview_kit.workflow"}),
			self.assertRaises(UnknownAction),
		):
			actions.resolve(f"{HERE}.note")

	def test_the_product_declares_only_its_workflow_actions(self):
		self.assertEqual(
			frappe.get_hooks("webview_actions", app_name="webview_kit"), ["webview_kit.workflow"]
		)


GOOD = {"text": "a", "whole": 1, "number": 1.5, "flag": True, "obj": {}, "items": []}


class TestArguments(FrappeTestCase):
	def test_good_arguments_pass_and_an_int_counts_as_a_float(self):
		spec = actions.resolve(f"{HERE}.typed")
		checked = actions.check_args(spec, {**GOOD, "number": 2, "maybe": None})
		self.assertEqual(checked["number"], 2.0)
		self.assertIsInstance(checked["number"], float)

	def test_bad_arguments_are_refused_with_what_is_wrong(self):
		spec = actions.resolve(f"{HERE}.typed")
		rows = [
			({k: v for k, v in GOOD.items() if k != "whole"}, "Missing argument 'whole'"),
			({**GOOD, "extra": 1}, "Unknown argument 'extra'"),
			({**GOOD, "text": 5}, "Argument 'text' must be text, not a number"),
			({**GOOD, "whole": "1"}, "Argument 'whole' must be a whole number, not text"),
			({**GOOD, "whole": 1.5}, "Argument 'whole' must be a whole number"),
			({**GOOD, "whole": True}, "Argument 'whole' must be a whole number, not a boolean"),
			({**GOOD, "number": "1.5"}, "Argument 'number' must be a number, not text"),
			({**GOOD, "flag": 1}, "Argument 'flag' must be true or false, not a number"),
			({**GOOD, "obj": []}, "Argument 'obj' must be an object, not a list"),
			({**GOOD, "items": {}}, "Argument 'items' must be a list, not an object"),
			({**GOOD, "text": None}, "Argument 'text' must be text, not null"),
			(["a"], "Arguments must be an object"),
		]
		for args, message in rows:
			with self.subTest(args=args), self.assertRaises(ActionArgumentError) as caught:
				actions.check_args(spec, args)
			self.assertIn(message, str(caught.exception))
			self.assertEqual(caught.exception.http_status_code, 400)

	def test_bad_arguments_are_refused_before_the_action_runs(self):
		with self.assertRaises(ActionArgumentError):
			actions.run(f"{HERE}.note", {"name": 5}, new_id())
		self.assertEqual(frappe.db.count("ToDo", {"description": ["like", f"{MARKER}%"]}), 0)

	def test_an_id_must_be_given_and_well_formed(self):
		for bad in (None, "", "short", "x" * 65, "has spaces in it, sixteen+", 12345678901234567):
			with self.subTest(id=bad), self.assertRaises(ActionArgumentError):
				actions.run(f"{HERE}.note", {"name": "x"}, bad)


class TestReach(ActionTestCase):
	def reach(self, route: str, rooms: tuple[str, ...] | None):
		return patch.object(scope, "current", return_value=scope.Scope(route, time.time() + 60, rooms))

	def test_a_deep_link_session_runs_the_actions_of_its_own_page_on_its_rooms(self):
		with self.reach(ROUTE, (doc_room("ToDo", self.name),)):
			self.assertFalse(actions.run(f"{HERE}.note", {"name": self.name}, new_id()).replayed)

	def test_an_action_of_another_page_is_refused(self):
		with self.reach("/webview/document", (doc_room("ToDo", self.name),)):
			with self.assertRaises(frappe.PermissionError) as caught:
				actions.run(f"{HERE}.note", {"name": self.name}, new_id())
		self.assertEqual(str(caught.exception), actions.OTHER_PAGE)

	def test_an_action_on_a_room_the_page_did_not_declare_is_refused(self):
		with (
			self.reach(ROUTE, (doc_room("ToDo", "someone-else"),)),
			self.assertRaises(frappe.PermissionError),
		):
			actions.run(f"{HERE}.note", {"name": self.name}, new_id())
		self.assertEqual(notes(self.name), 0)

	def test_a_deep_link_session_acts_only_once_its_page_declared_its_rooms(self):
		with self.reach(ROUTE, None), self.assertRaises(frappe.PermissionError):
			actions.run(f"{HERE}.note", {"name": self.name}, new_id())

	def test_a_session_without_a_scope_is_not_limited_to_a_page(self):
		self.assertFalse(actions.run(f"{HERE}.note", {"name": self.name}, new_id()).replayed)


class TestPermission(ActionTestCase):
	"""`permission=` is checked for every session, scoped or not, before the function runs."""

	def setUp(self):
		super().setUp()
		self.todo = frappe.get_doc({"doctype": "ToDo", "description": f"{MARKER} mine"}).insert().name
		frappe.db.commit()
		ensure_user(OTHER_USER)

	def description(self) -> str:
		frappe.db.commit()
		return frappe.db.get_value("ToDo", self.todo, "description")

	def test_a_user_with_the_permission_runs_it(self):
		actions.run(f"{HERE}.edit", {"name": self.todo, "text": "edited"}, new_id())
		self.assertEqual(self.description(), f"{MARKER} edited")

	def test_a_signed_in_user_without_the_permission_is_refused_before_it_runs(self):
		frappe.set_user(OTHER_USER)
		with self.assertRaises(frappe.PermissionError) as caught:
			actions.run(f"{HERE}.edit", {"name": self.todo, "text": "taken over"}, new_id())
		self.assertEqual(str(caught.exception), actions.NOT_PERMITTED)
		frappe.set_user("Administrator")
		self.assertEqual(self.description(), f"{MARKER} mine")

	def test_a_missing_document_gets_the_same_refusal_as_one_not_yours(self):
		with self.assertRaises(frappe.PermissionError) as caught:
			actions.run(f"{HERE}.edit", {"name": "no-such-todo", "text": "x"}, new_id())
		self.assertEqual(str(caught.exception), actions.NOT_PERMITTED)

	def test_rooms_that_name_no_document_of_the_doctype_refuse(self):
		spec = actions.Action(
			"x.y", edit, ROUTE, lambda name: [doc_room("Note", name)], {}, ("write", "ToDo")
		)
		with self.assertRaises(frappe.PermissionError):
			actions.check_permission(spec, {"name": self.todo})


class TestExactlyOnce(ActionTestCase):
	def test_a_retry_returns_the_first_outcome_without_running_again(self):
		invocation = new_id()
		first = actions.run(f"{HERE}.note", {"name": self.name}, invocation)
		frappe.db.commit()
		again = actions.run(f"{HERE}.note", {"name": self.name}, invocation)
		self.assertEqual((first.replayed, again.replayed), (False, True))
		self.assertEqual(again.result, first.result)
		self.assertEqual(notes(self.name), 1)

	def test_a_retry_in_the_same_transaction_does_not_run_again_either(self):
		invocation = new_id()
		actions.run(f"{HERE}.note", {"name": self.name}, invocation)
		self.assertTrue(actions.run(f"{HERE}.note", {"name": self.name}, invocation).replayed)

	def test_an_id_reused_for_other_arguments_is_refused(self):
		invocation = new_id()
		actions.run(f"{HERE}.note", {"name": self.name}, invocation)
		frappe.db.commit()
		with self.assertRaises(ActionConflict):
			actions.run(f"{HERE}.note", {"name": self.name, "text": "other"}, invocation)

	def test_each_user_has_their_own_ids(self):
		invocation = new_id()
		actions.run(f"{HERE}.note", {"name": self.name}, invocation)
		frappe.db.commit()
		frappe.set_user(ensure_user(OTHER_USER))
		self.assertFalse(actions.run(f"{HERE}.note", {"name": self.name}, invocation).replayed)
		frappe.db.commit()
		self.assertEqual(notes(self.name), 2)

	def test_a_failed_run_leaves_nothing_and_may_run_again(self):
		invocation = new_id()
		for _ in range(2):
			with self.assertRaises(frappe.ValidationError):
				actions.run(f"{HERE}.fails", {"name": self.name}, invocation)
			frappe.db.rollback()  # what the request does with an error
		self.assertEqual(notes(self.name), 0)
		self.assertFalse(frappe.db.exists("Webview Action", actions._key("Administrator", invocation)))

	def test_an_outcome_is_kept_for_the_window_then_pruned(self):
		invocation = new_id()
		actions.run(f"{HERE}.note", {"name": self.name}, invocation)
		key = actions._key("Administrator", invocation)
		frappe.db.commit()
		actions.prune_outcomes()
		self.assertTrue(frappe.db.exists("Webview Action", key))
		past = add_to_date(now_datetime(), seconds=-(24 * 3600 + 60))
		frappe.db.sql("update `tabWebview Action` set creation=%s where name=%s", (past, key))
		frappe.db.commit()
		self.assertGreaterEqual(actions.prune_outcomes(), 1)
		frappe.db.commit()
		self.assertFalse(frappe.db.exists("Webview Action", key))
		self.assertFalse(actions.run(f"{HERE}.note", {"name": self.name}, invocation).replayed)

	def test_concurrent_requests_with_one_id_run_it_once_and_share_its_outcome(self):
		invocation = new_id()

		def request(pause: float):
			outcome = actions.run(f"{HERE}.note", {"name": self.name, "pause": pause}, invocation)
			frappe.db.commit()
			return outcome

		# Arguments are part of the id's fingerprint, so every caller sends the same ones.
		outcomes = run_concurrently(request, [(0.5,)] * 3)
		for outcome in outcomes:
			self.assertIsInstance(outcome, actions.Outcome, msg=repr(outcome))
		self.assertEqual(sorted(o.replayed for o in outcomes), [False, True, True])
		self.assertEqual(len({o.result["todo"] for o in outcomes}), 1)
		self.assertEqual(notes(self.name), 1)

	def test_a_request_that_waited_on_one_that_crashed_runs_the_action_itself(self):
		invocation = new_id()
		args = {"name": self.name}

		def crashing(_):
			actions.run(f"{HERE}.note", args, invocation)
			time.sleep(1)
			frappe.db.rollback()  # the worker died: MariaDB rolls its transaction back
			return "crashed"

		def retry(_):
			time.sleep(0.3)  # the crashing one claims the id first
			outcome = actions.run(f"{HERE}.note", args, invocation)
			frappe.db.commit()
			return outcome

		def either(role):
			return crashing(role) if role == "crash" else retry(role)

		crashed, retried = run_concurrently(either, [("crash",), ("retry",)])
		self.assertEqual(crashed, "crashed")
		self.assertIsInstance(retried, actions.Outcome, msg=repr(retried))
		self.assertFalse(retried.replayed)
		self.assertEqual(notes(self.name), 1)
		again = in_fresh_context(lambda: actions.run(f"{HERE}.note", args, invocation))()
		self.assertTrue(again.replayed)


class TestOutcomeWindowSetting(FrappeTestCase):
	def setUp(self):
		frappe.set_user("Administrator")

	def tearDown(self):
		frappe.db.rollback()

	def test_an_empty_window_is_saved_as_the_default(self):
		settings = frappe.get_single("Webview Settings")
		settings.action_outcome_ttl = None  # what a site saved before the field existed holds
		settings.save()
		self.assertEqual(settings.action_outcome_ttl, 24 * 3600)

	def test_a_window_out_of_bounds_is_refused(self):
		settings = frappe.get_single("Webview Settings")
		settings.action_outcome_ttl = 30
		with self.assertRaises(frappe.ValidationError):
			settings.save()
