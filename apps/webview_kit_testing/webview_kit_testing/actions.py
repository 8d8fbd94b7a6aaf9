"""A test-only action: a comment that takes its time, so a test can kill the web process mid-way."""

import time

from webview_kit import workflow
from webview_kit.actions import action

LONGEST = 15.0


@action(route=workflow.ROUTE, rooms=workflow.document_rooms, permission="read")
def slow_comment(doctype: str, name: str, text: str, seconds: float = 5.0) -> dict:
	"""Add the comment, then wait `seconds` (at most 15) before the request commits it."""
	shown = workflow.add_comment(doctype, name, text)
	time.sleep(min(max(seconds, 0.0), LONGEST))
	return shown
