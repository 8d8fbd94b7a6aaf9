"""Actions on the real stack: the workflow webview's taps run once, and every viewer follows.

Ana may move tasks along (the demo's worker role and a write share); Ben may only read
them. Effects are counted in the database through the editor's REST API.
"""

from __future__ import annotations

import itertools
import json
import time

import pytest
from mobile import DEVICES, EVENT_TIMEOUT, TASK, link, open_page, screenshot
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

pytestmark = pytest.mark.phones  # every browser test once per phone, unless it names one

ROUTE = "/webview/workflow"
WORKER_ROLE = "Webview Demo Worker"
APPLY = "webview_kit.workflow.apply_transition"
COMMENT = "webview_kit.workflow.add_comment"
SLOW_COMMENT = "webview_kit_testing.actions.slow_comment"
ONE_PHONE = pytest.mark.parametrize("phone", ["iphone"], indirect=True)


def email(who: str, phone: str) -> str:
	return f"act-{who}-{phone}@webview-kit.test"


@pytest.fixture(scope="session")
def crew(stack):
	"""Per phone: Ana (worker), Ben (reader), Cy (worker who may only read)."""
	for phone in DEVICES:
		workers = ("--email", email("ana", phone), "--email", email("cy", phone))
		stack.site_output(["webview", "ensure-user", "--first-name", "Ana", "--role", WORKER_ROLE, *workers])
		stack.site_output(["webview", "ensure-user", "--first-name", "Ben", "--email", email("ben", phone)])


@pytest.fixture
def task(editor, crew, phone):
	"""A fresh Open task: Ana may write it, Ben and Cy read it. Deleted afterwards."""
	name = editor.create("Check the delivery", share_with=(email("ben", phone), email("cy", phone)))
	share = {"doctype": TASK, "name": name, "user": email("ana", phone), "read": 1, "write": 1}
	editor._ok(editor.http.post(f"{editor.url}/api/method/frappe.share.add", data=share))
	yield name
	editor.delete(name)


def state_of(editor, name: str) -> str:
	return editor._ok(editor.http.get(f"{editor.url}/api/resource/{TASK}/{name}"))["data"]["workflow_state"]


def comments(editor, name: str, text: str | None = None) -> int:
	filters = [["reference_name", "=", name], ["comment_type", "=", "Comment"]]
	if text:
		filters.append(["content", "like", f"%{text}%"])
	params = {"filters": json.dumps(filters), "limit_page_length": 0}
	return len(editor._ok(editor.http.get(f"{editor.url}/api/resource/Comment", params=params))["data"])


def open_workflow(page: Page, accounts, user: str, name: str) -> None:
	open_page(page, link(accounts, user, ROUTE, doctype=TASK, name=name), ROUTE)


def act(page: Page, action: str, args: dict, id: str | None = None) -> dict:
	"""Run an action from the page's script; {"result": ...} or {"error": message, "status": ...}."""
	return page.evaluate(
		"""([action, args, id]) => webviewKit.act(action, args, id ? {id} : {}).then(
			(result) => ({result}), (e) => ({error: e.message, status: e.status}))""",
		[action, args, id],
	)


def other_phone(browser: Browser, browser_context_args):
	return browser.new_context(**browser_context_args)


# -- a tap, and everyone follows --------------------------------------------------------
def test_a_tap_moves_the_task_and_every_viewer_follows(
	page: Page, browser: Browser, browser_context_args, accounts, editor, task, phone
):
	open_workflow(page, accounts, email("ana", phone), task)
	viewer_context = other_phone(browser, browser_context_args)
	try:
		viewer = viewer_context.new_page()
		open_workflow(viewer, accounts, email("ben", phone), task)
		expect(page.get_by_test_id("workflow-state")).to_have_text("Open")
		expect(page.locator("[data-testid=transition]:visible")).to_have_text(["Start", "Reject"])
		expect(viewer.locator("[data-testid=transition]:visible")).to_have_count(0)
		expect(viewer.get_by_test_id("no-transitions")).to_be_visible()

		page.get_by_role("button", name="Start").click()

		expect(page.get_by_test_id("workflow-state")).to_have_text("In Progress", timeout=EVENT_TIMEOUT)
		expect(viewer.get_by_test_id("workflow-state")).to_have_text("In Progress", timeout=EVENT_TIMEOUT)
		expect(page.locator("[data-testid=transition]:visible")).to_have_text(["Finish", "Reject"])
		assert state_of(editor, task) == "In Progress"

		page.get_by_test_id("comment-text").fill("Pallets are on the truck")
		page.get_by_test_id("comment-send").click()
		expect(viewer.get_by_test_id("comments")).to_contain_text(
			"Pallets are on the truck", timeout=EVENT_TIMEOUT
		)
		expect(page.get_by_test_id("comment-text")).to_have_value("")
		expect(page.get_by_test_id("action-status")).to_have_text("")
		screenshot(page, "workflow", phone)
	finally:
		viewer_context.close()


# -- exactly once ---------------------------------------------------------------------
@ONE_PHONE
def test_a_double_tap_and_five_rapid_retries_run_once(page: Page, accounts, editor, task, phone):
	open_workflow(page, accounts, email("ana", phone), task)

	page.get_by_test_id("comment-text").fill("double tap")
	page.get_by_test_id("comment-send").dblclick()
	expect(page.get_by_test_id("comments")).to_contain_text("double tap", timeout=EVENT_TIMEOUT)

	answers = page.evaluate(
		"""(args) => { const id = "retry-" + crypto.getRandomValues(new Uint32Array(4)).join("");
			return Promise.all([1, 2, 3, 4, 5].map(() => webviewKit.act(args.action, args.args, {id}))); }""",
		{"action": COMMENT, "args": {"doctype": TASK, "name": task, "text": "five retries"}},
	)
	assert len({answer["name"] for answer in answers}) == 1, answers
	assert comments(editor, task, "double tap") == 1
	assert comments(editor, task, "five retries") == 1


@ONE_PHONE
def test_the_web_process_killed_mid_action_ends_in_one_outcome_and_one_effect(
	page: Page, accounts, editor, task, stack, phone
):
	open_workflow(page, accounts, email("ana", phone), task)
	page.evaluate(
		"""(args) => { window.sending = false;
			window.outcome = webviewKit.act(args.action, args.args, {onSending: () => (window.sending = true)})
				.then((result) => ({result}), (e) => ({error: e.message})); }""",
		{"action": SLOW_COMMENT, "args": {"doctype": TASK, "name": task, "text": "killed", "seconds": 3}},
	)
	time.sleep(1.5)  # the comment is inserted, its transaction still open
	stack.kill("web")
	try:
		time.sleep(2)
		assert page.evaluate("window.sending"), "the page retries, saying Sending…"
	finally:
		stack.restart("web")

	outcome = page.evaluate("window.outcome")  # the retry ran it once more, to the end
	assert "result" in outcome, outcome
	assert comments(editor, task, "killed") == 1


@ONE_PHONE
def test_a_tap_while_offline_is_sent_once_when_back_online(page: Page, accounts, editor, task, phone):
	open_workflow(page, accounts, email("ana", phone), task)

	page.context.set_offline(True)
	page.get_by_test_id("comment-text").fill("sent from the basement")
	page.get_by_test_id("comment-send").click()
	expect(page.get_by_test_id("comment-status")).to_have_text("Sending…")
	expect(page.get_by_test_id("comment-form")).to_have_attribute("aria-busy", "true")
	time.sleep(3)
	assert comments(editor, task, "basement") == 0
	page.context.set_offline(False)

	expect(page.get_by_test_id("comments")).to_contain_text("sent from the basement", timeout=EVENT_TIMEOUT)
	expect(page.get_by_test_id("comment-status")).to_have_text("")
	expect(page.get_by_test_id("comment-form")).to_have_attribute("aria-busy", "false")
	assert comments(editor, task, "basement") == 1


# -- refusals -------------------------------------------------------------------------
@ONE_PHONE
def test_a_worker_who_may_only_read_is_refused_in_the_page(page: Page, accounts, editor, task, phone):
	open_workflow(page, accounts, email("cy", phone), task)

	start = page.get_by_role("button", name="Start")
	start.click()

	status = page.get_by_test_id("action-status")
	expect(status).to_have_attribute("data-state", "error", timeout=EVENT_TIMEOUT)
	expect(status).to_contain_text("permission")
	expect(status).not_to_contain_text("Traceback")
	expect(start).to_be_enabled()
	assert state_of(editor, task) == "Open"


def moved_on(editor, task):
	"""The task moved to In Progress by another device before this one's tap arrives."""
	editor._ok(
		editor.http.post(
			f"{editor.url}/api/method/frappe.model.workflow.apply_workflow",
			data={"doc": json.dumps({"doctype": TASK, "name": task}), "action": "Start"},
		)
	)


REFUSALS = {
	"transition not allowed": (
		APPLY,
		{"transition": "Finish", "state": "Open"},
		"Not a valid Workflow Action",
	),
	"stale state": (APPLY, {"transition": "Reject", "state": "Open"}, "is In Progress now, not Open"),
	"missing argument": (APPLY, {"transition": "Start"}, "Missing argument 'state'"),
	"wrong type": (COMMENT, {"text": 42}, "Argument 'text' must be text, not a number"),
	"unknown argument": (COMMENT, {"text": "hi", "urgent": True}, "Unknown argument 'urgent'"),
	"unknown action": ("webview_kit.workflow.delete_everything", {}, "No webview action named"),
	"not an action": ("frappe.client.delete", {}, "No webview action named"),
}


@ONE_PHONE
@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_say_why_and_change_nothing(page: Page, accounts, editor, task, phone, case):
	action, extra, message = REFUSALS[case]
	open_workflow(page, accounts, email("ana", phone), task)
	if case == "stale state":
		editor_needs_role(editor)
		moved_on(editor, task)
	before = (state_of(editor, task), comments(editor, task))

	answer = act(page, action, {"doctype": TASK, "name": task, **extra})

	assert message in answer.get("error", ""), answer
	assert "Traceback" not in answer["error"]
	assert (state_of(editor, task), comments(editor, task)) == before


def editor_needs_role(editor):
	"""The editor moves tasks as a worker would (System Managers are not workers by default)."""
	me = editor._ok(editor.http.get(f"{editor.url}/api/method/frappe.auth.get_logged_user"))["message"]
	user = editor._ok(editor.http.get(f"{editor.url}/api/resource/User/{me}"))["data"]
	if WORKER_ROLE not in {row["role"] for row in user["roles"]}:
		roles = [*user["roles"], {"role": WORKER_ROLE}]
		editor._ok(editor.http.put(f"{editor.url}/api/resource/User/{me}", json={"roles": roles}))


@ONE_PHONE
def test_an_action_of_another_page_is_refused(page: Page, accounts, editor, task, phone):
	open_page(page, link(accounts, email("ana", phone), "/webview/document", name=task), "/webview/document")

	answer = act(page, APPLY, {"doctype": TASK, "name": task, "transition": "Start", "state": "Open"})

	assert answer["error"] == "This action belongs to another page.", answer
	assert state_of(editor, task) == "Open"


@ONE_PHONE
def test_an_action_on_another_document_is_refused(page: Page, accounts, editor, task, phone):
	other = editor.create("Another task")
	share = {"doctype": TASK, "name": other, "user": email("ana", phone), "read": 1, "write": 1}
	editor._ok(editor.http.post(f"{editor.url}/api/method/frappe.share.add", data=share))
	try:
		open_workflow(page, accounts, email("ana", phone), task)

		answer = act(page, APPLY, {"doctype": TASK, "name": other, "transition": "Start", "state": "Open"})

		assert answer["error"] == "This session opens one webview only.", answer
		assert state_of(editor, other) == "Open"
	finally:
		editor.delete(other)


@ONE_PHONE
@pytest.mark.parametrize("token", ["forged", "another session's"])
def test_a_forged_or_borrowed_csrf_token_is_refused(
	page: Page, browser: Browser, browser_context_args, accounts, editor, task, phone, token
):
	open_workflow(page, accounts, email("ana", phone), task)
	if token == "forged":
		csrf = "f" * 56
	else:
		other_context = other_phone(browser, browser_context_args)
		other = other_context.new_page()
		open_workflow(other, accounts, email("ben", phone), task)
		csrf = other.evaluate("webviewKit.config.csrf_token")
		other_context.close()
	page.evaluate("(token) => (webviewKit.config.csrf_token = token)", csrf)

	answer = act(page, APPLY, {"doctype": TASK, "name": task, "transition": "Start", "state": "Open"})

	assert answer.get("status") == 400 and answer["error"], answer
	assert "Traceback" not in answer["error"]
	assert state_of(editor, task) == "Open"


# -- Frappe's own desk follows too ------------------------------------------------------
DESK_PASSWORD = "Wvk-desk-actions-7!"


def joined(desk: Page, editor, task: str) -> None:
	"""Save the task until the desk hears a doc_update: its doc_subscribe has joined the room.

	The socket server joins a room only after asking Frappe, and says nothing when it has, so
	a save right after doc_subscribe may go out before the join. Then forget what it heard.
	"""
	for priority in itertools.islice(itertools.cycle(["High", "Low"]), 20):
		editor.update(task, priority=priority)
		try:
			desk.wait_for_function("() => window.updates.length > 0", timeout=1_000)
			break
		except PlaywrightTimeoutError:
			continue
	else:
		raise AssertionError("the desk never heard a doc_update of the task")
	desk.evaluate("window.updates = []")


@ONE_PHONE
def test_a_desk_listener_gets_frappes_own_doc_update_for_a_tap(
	page: Page, browser: Browser, accounts, editor, task, stack, phone
):
	me = editor._ok(editor.http.get(f"{editor.url}/api/method/frappe.auth.get_logged_user"))["message"]
	stack.site_output(["webview", "ensure-user", "--email", me, "--password", DESK_PASSWORD])
	desk_context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 800})
	try:
		desk = desk_context.new_page()
		assert desk.request.post("/api/method/login", form={"usr": me, "pwd": DESK_PASSWORD}).ok
		desk.goto("/app")  # any desk page: what a form does on load, done by hand
		desk.wait_for_function("() => window.frappe?.realtime?.socket?.connected", timeout=60_000)
		desk.evaluate(
			"""([doctype, name]) => {
				window.updates = [];
				frappe.realtime.on("doc_update", (d) => d.name === name && updates.push(d));
				frappe.realtime.doc_subscribe(doctype, name);
			}""",
			[TASK, task],
		)
		joined(desk, editor, task)
		open_workflow(page, accounts, email("ana", phone), task)

		page.get_by_role("button", name="Start").click()

		desk.wait_for_function("() => window.updates.length === 1", timeout=EVENT_TIMEOUT)
		expect(page.get_by_test_id("workflow-state")).to_have_text("In Progress")
	finally:
		desk_context.close()
