"""A tap whose answer was lost, then a reload: the reloaded page sends it again with its id, and it runs once."""

from __future__ import annotations

import json
import re

import pytest
from mobile import EVENT_TIMEOUT
from playwright.sync_api import Page, Route, expect
from test_actions import comments, crew, email, open_workflow, task  # noqa: F401 (fixtures)

ACT = re.compile(r"/api/method/webview_kit\.api\.act$")


@pytest.mark.parametrize("phone", ["iphone"], indirect=True)
def test_a_reload_after_a_lost_answer_retries_with_the_same_id_and_runs_once(
	page: Page,
	accounts,
	editor,
	task,  # noqa: F811 (the fixture)
	phone,
):
	open_workflow(page, accounts, email("ana", phone), task)
	sent: list[str] = []
	reloaded = {"yet": False}

	def lose_answers(route: Route) -> None:
		if reloaded["yet"]:
			return route.continue_()
		sent.append(json.loads(route.request.post_data)["id"])
		if len(sent) == 1:
			route.fetch()  # the server runs it...
		route.abort()  # ...and its answer is lost; the page's own retries are lost before they reach it

	page.route(ACT, lose_answers)
	page.get_by_test_id("comment-text").fill("sent before the reload")
	page.get_by_test_id("comment-send").click()
	expect(page.get_by_test_id("comment-status")).to_have_text("Sending…", timeout=EVENT_TIMEOUT)
	assert comments(editor, task, "before the reload") == 1

	# From the reloaded document on, requests reach the stack.
	page.once("framenavigated", lambda frame: reloaded.update(yet=True))
	with page.expect_request(lambda request: bool(ACT.search(request.url)) and reloaded["yet"]) as retried:
		page.reload()

	assert json.loads(retried.value.post_data)["id"] == sent[0]
	assert retried.value.response().ok
	expect(page.get_by_test_id("comments")).to_contain_text("sent before the reload", timeout=EVENT_TIMEOUT)
	assert comments(editor, task, "before the reload") == 1
	assert page.evaluate("sessionStorage.getItem('wvk-pending-actions')") == "{}"
