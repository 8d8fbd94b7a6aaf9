"""A room whose history restarts while its pages stay connected: every open page shows the latest value.

A room's history restarts (sequence back to 0, a new epoch) when it is forgotten (`bench
webview forget`, a document's delete or rename), when its keys expire (*History lifetime*),
or when the queue Redis loses its data. The sockets stay connected through all of these,
so only the next event tells an open page; it must resync to the new history, not take the
new, lower sequence numbers for events it has already seen.
"""

from __future__ import annotations

import json
import time

import pytest
from mobile import EVENT_TIMEOUT, link, open_page
from playwright.sync_api import Page, expect
from webview import applied, expect_realtime, open_webview

TASK = "Webview Demo Task"
QUEUE_REDIS = "frappe.utils.background_jobs.get_redis_connection_without_auth()"


def count(stack, user: str, upto: int) -> None:
	stack.site_output(["webview", "count", "--user", user, "--upto", str(upto), "--interval", "0"])


def head(stack, room: str) -> dict:
	"""The room's position in the queue Redis, read as the server reads it."""
	printed = stack.site_output(["execute", "webview_kit.publish.room_head", "--args", json.dumps([room])])
	return json.loads(printed)


def expect_live_count(page: Page, value: int) -> None:
	expect(page.get_by_test_id("count")).to_have_text(str(value), timeout=EVENT_TIMEOUT)
	expect_realtime(page, "live")


def resyncs(page: Page) -> int:
	return sum(1 for entry in applied(page) if entry[1] == "resync")


def test_a_forgotten_room_with_its_page_open_shows_the_new_count(page: Page, deep_link, user, stack):
	open_webview(page, deep_link)
	count(stack, user, 4)  # the page is at sequence 5
	expect_live_count(page, 4)

	stack.site_output(["webview", "forget", "--user", user])
	count(stack, user, 2)  # the room's new head is 3, below the page's 5

	expect_live_count(page, 2)
	assert resyncs(page) == 1

	stack.site_output(["webview", "forget", "--user", user])
	count(stack, user, 7)  # a second restart, now above where the page was

	expect_live_count(page, 7)
	assert resyncs(page) == 2


def test_a_room_whose_history_expired_with_its_page_open_shows_the_new_count(
	page: Page, deep_link, user, stack, site_setting
):
	open_webview(page, deep_link)
	site_setting("webview_history_ttl", 2)
	count(stack, user, 5)
	expect_live_count(page, 5)

	# Redis's own expiry forgets the room: wait until its keys are gone.
	room = f"user:{user}"
	wait_until(lambda: head(stack, room)["epoch"] == "", f"{room} never expired")
	count(stack, user, 3)

	expect_live_count(page, 3)
	assert resyncs(page) == 1


def test_a_flushed_queue_redis_with_pages_connected_shows_the_new_count(
	page: Page, deep_link, user, stack, accounts
):
	other = page.context.new_page()
	open_webview(page, deep_link)
	open_webview(other, accounts.link(user))
	count(stack, user, 6)
	expect_live_count(page, 6)
	expect_live_count(other, 6)

	# Everything in the queue Redis goes, the socket server's subscription stays.
	stack.site_output(["execute", f"{QUEUE_REDIS}.flushdb"])
	count(stack, user, 2)

	for each in (page, other):
		expect_live_count(each, 2)
		assert resyncs(each) == 1


@pytest.fixture
def task(editor, ana):
	"""A demo task shared with Ana; deleted afterwards, under whatever name it has then."""
	made = {"name": editor.create("Restart the history", share_with=(ana,), status="Open")}
	yield made
	for name in {made["name"], *made.get("also", ())}:
		try:
			editor.delete(name)
		except AssertionError:
			pass  # the test deleted it


def rename(stack, old: str, new: str) -> None:
	"""Rename a demo task as the desk would (the demo DocType itself does not allow renaming)."""
	kwargs = {"doctype": TASK, "old": old, "new": new, "force": True}
	stack.site_output(["execute", "frappe.rename_doc", "--kwargs", repr(kwargs)])  # a Python literal


@pytest.mark.parametrize("phone", ["iphone"], indirect=True)  # Ana needs a phone
def test_a_document_page_follows_a_new_document_that_takes_a_renamed_ones_name(
	page: Page, accounts, ana, editor, task, stack
):
	name = task["name"]
	open_page(page, link(accounts, ana, "/webview/document", name=name), "/webview/document")
	for status in ("Working", "Open", "Working"):
		editor.update(name, status=status)
	expect(page.get_by_test_id("field-status")).to_have_text("Working", timeout=EVENT_TIMEOUT)

	moved = f"{name}-moved"
	rename(stack, name, moved)  # the old name's room is forgotten
	task["also"] = [moved]
	rename(stack, moved, name)  # and the name is taken again: its room starts afresh
	editor.update(name, status="Done")

	expect(page.get_by_test_id("field-status")).to_have_text("Done", timeout=EVENT_TIMEOUT)
	expect_realtime(page, "live")


@pytest.mark.parametrize("phone", ["iphone"], indirect=True)
def test_a_document_page_follows_a_new_document_that_takes_a_deleted_ones_name(
	page: Page, accounts, ana, editor, task, stack
):
	name = task["name"]
	other = editor.create("Take the name", share_with=(ana,), status="Open")
	task["also"] = [other]
	open_page(page, link(accounts, ana, "/webview/document", name=name), "/webview/document")
	for status in ("Working", "Open", "Working"):
		editor.update(name, status=status)
	expect(page.get_by_test_id("field-status")).to_have_text("Working", timeout=EVENT_TIMEOUT)

	editor.delete(name)  # its room is forgotten
	expect(page.get_by_test_id("doc-deleted")).to_be_visible(timeout=EVENT_TIMEOUT)
	rename(stack, other, name)
	editor.update(name, status="Done", title="Took the name")

	expect(page.get_by_test_id("doc-title")).to_have_text("Took the name", timeout=EVENT_TIMEOUT)
	expect(page.get_by_test_id("field-status")).to_have_text("Done")
	expect(page.get_by_test_id("doc-deleted")).to_be_hidden()
	expect_realtime(page, "live")


def wait_until(condition, message: str, timeout: float = 30) -> None:
	"""Poll `condition` (a read of server state) until it holds."""
	deadline = time.monotonic() + timeout
	while not condition():
		assert time.monotonic() < deadline, message
		time.sleep(0.2)
