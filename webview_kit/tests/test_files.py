"""A deep-link page loads the files its document references, and no other file."""

from urllib.parse import quote

import frappe
from frappe.share import add_docshare

from webview_kit import scope
from webview_kit.rooms import Room
from webview_kit.tests.support import ensure_demo
from webview_kit.tests.test_requests import READER, RequestTestCase

TASK = "Webview Demo Task"
PNG = bytes.fromhex(
	"89504e470d0a1a0a0000000d4948445200000001000000010806000000"
	"1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b5d2370000000049454e44ae426082"
)


def document_route(name: str) -> str:
	return f"/webview/document?doctype={quote(TASK)}&name={quote(name)}"


class TestDocumentFiles(RequestTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		ensure_demo()

	def task(self, title: str) -> str:
		doc = frappe.get_doc({"doctype": TASK, "title": title}).insert()
		add_docshare(TASK, doc.name, READER, flags={"ignore_share_permission": True})
		self.addCleanup(self.delete, doc.name)
		return doc.name

	def delete(self, name: str) -> None:
		frappe.delete_doc(TASK, name, force=True)
		frappe.db.commit()

	def attach(self, name: str | None, file_name: str, content: bytes, private: bool = True) -> str:
		file = frappe.get_doc(
			{
				"doctype": "File",
				"file_name": file_name,
				"attached_to_doctype": TASK if name else None,
				"attached_to_name": name,
				"is_private": int(private),
				"content": content,
			}
		).insert(ignore_permissions=True)
		self.addCleanup(lambda: frappe.delete_doc("File", file.name, force=True, ignore_permissions=True))
		return file.file_url

	def setUp(self):
		super().setUp()
		self.mine = self.task("Photograph the shelf")
		image = self.attach(None, "shelf.png", PNG)
		doc = frappe.get_doc(TASK, self.mine)
		doc.image = image  # saving attaches the field's file to the document (a File row)
		doc.save()
		self.image = image
		self.attachment = self.attach(self.mine, "checklist.txt", b"1. empty the shelf\n")
		self.other = self.task("Someone else's task")
		self.others_file = self.attach(self.other, "others.txt", b"not yours\n")
		self.loose_file = self.attach(None, "loose.txt", b"attached to nothing\n")
		self.public_file = self.attach(self.other, "others-public.txt", b"public\n", private=False)
		frappe.db.commit()
		route = document_route(self.mine)
		token = self.issue(READER, "/webview/document", {"doctype": TASK, "name": self.mine})
		opened = self.get(f"{route}&{scope.TOKEN_PARAM}={token}")
		self.assertEqual(opened.status_code, 303, msg=opened.get_data(as_text=True)[:300])
		self.page = self.get(route)

	def test_the_page_shows_its_documents_image_and_attachment(self):
		self.assertEqual(self.page.status_code, 200)
		html = self.page.get_data(as_text=True)
		self.assertIn(f'data-testid="doc-image" src="{self.image}"', html)
		self.assertIn(f'href="{self.attachment}"', html)
		self.assertNotIn(self.others_file, html)

	def test_the_files_its_document_references_load(self):
		image = self.get(self.image)
		self.assertEqual(image.status_code, 200)
		self.assertEqual(image.get_data(), PNG)
		attachment = self.get(self.attachment)
		self.assertEqual((attachment.status_code, attachment.get_data()), (200, b"1. empty the shelf\n"))

	def test_no_other_file_loads(self):
		for label, path in (
			("another document's file", self.others_file),
			("another document's public file", self.public_file),
			("a file attached to nothing", self.loose_file),
			(
				"a dot-segment path to a referenced file",
				self.attachment.replace("/files/", "/files/../files/"),
			),
			("a file that does not exist", "/private/files/no-such-file.txt"),
		):
			with self.subTest(label):
				response = self.get(path)
				self.assertEqual(response.status_code, 403, msg=path)
				self.assertNotIn(b"not yours", response.get_data())

	def test_only_reads_pass(self):
		response = self.get(self.attachment, method="POST")
		self.assertIn(response.status_code, (400, 403))  # Frappe's CSRF check may refuse it first
		self.assertNotIn(b"empty the shelf", response.get_data())

	def test_the_scope_names_document_rooms_as_rooms_do(self):
		reach = scope.Scope(route="/webview/document", expires=0, rooms=(str(Room.of_doc(TASK, "WDT-1")),))
		self.assertTrue(reach.allows_document(TASK, "WDT-1"))
		self.assertFalse(reach.allows_document(TASK, "WDT-2"))
