"""A deep-link document page shows its document's image and attachment, and reaches no other file."""

from __future__ import annotations

import base64

import pytest
from mobile import TASK, link, open_page
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.phones  # every browser test once per phone

# A 2x2 PNG, so the page has a real image to decode.
PNG = base64.b64decode(
	"iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGNQTX4NRAwQCgAligXNFnxqAgAAAABJRU5ErkJggg=="
)


def upload(editor, name: str, file_name: str, content: bytes, mimetype: str) -> str:
	"""Attach a private file to task `name` as the desk's upload does; return its URL."""
	response = editor.http.post(
		f"{editor.url}/api/method/upload_file",
		data={"doctype": TASK, "docname": name, "is_private": 1},
		files={"file": (file_name, content, mimetype)},
	)
	return editor._ok(response)["message"]["file_url"]


@pytest.fixture
def tasks(editor):
	made = []
	yield lambda title, *users: made.append(editor.create(title, share_with=users)) or made[-1]
	for name in made:
		editor.delete(name)


def test_document_page_shows_its_image_and_attachment_and_no_other_file(
	page: Page, accounts, ana, ben, editor, tasks
):
	mine = tasks("Photograph the shelf", ana)
	image = upload(editor, mine, "shelf.png", PNG, "image/png")
	editor.update(mine, image=image)
	checklist = upload(editor, mine, "checklist.txt", b"1. empty the shelf\n", "text/plain")
	others = upload(editor, tasks("Ben's task", ben), "ben.txt", b"Ben's notes\n", "text/plain")

	open_page(page, link(accounts, ana, "/webview/document", name=mine), "/webview/document")

	picture = page.get_by_test_id("doc-image")
	expect(picture).to_have_attribute("src", image)
	# decode() rejects for an image that did not load (a 403 is not a PNG).
	assert picture.evaluate("img => img.decode().then(() => img.naturalWidth)") == 2
	attachment = page.get_by_test_id("doc-attachments").get_by_role("link", name="checklist.txt")
	expect(attachment).to_have_attribute("href", checklist)
	fetched = page.request.get(checklist)
	assert (fetched.status, fetched.body()) == (200, b"1. empty the shelf\n")

	refused = page.request.get(others)
	assert refused.status == 403
	assert b"Ben's notes" not in refused.body()
