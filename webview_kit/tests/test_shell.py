"""The shell's bundle, inlined or linked (webview_kit/shell.py), read off the site's built assets."""

from unittest.mock import patch

from frappe.tests.utils import FrappeTestCase

from webview_kit import shell


class TestShell(FrappeTestCase):
	def test_the_inlined_bundle_names_its_source_map_from_the_site_root(self):
		script = shell.current().script
		self.assertTrue(script.url.startswith("/assets/webview_kit/dist/js/webview.bundle."))
		self.assertIn(f"sourceMappingURL={script.url}.map", script.text)

	def test_a_bundle_that_would_end_its_element_is_linked_not_inlined(self):
		built = shell._built()
		for text in ("let s = '</script>';", "a{content:'</STYLE'}"):
			with self.subTest(text=text):
				broken = shell.Shell(shell.Asset(built.script.url, text), built.style)
				with patch.object(shell, "_built", return_value=broken):
					self.assertFalse(shell.current().inline)
		self.assertTrue(shell.current().inline)

	def test_another_build_has_another_name(self):
		built = shell._built()
		other = shell.Shell(shell.Asset(built.script.url.replace(".js", "X.js"), ""), built.style)
		self.assertNotEqual(other.build, built.build)

	def test_the_policy_sources_are_the_hashes_of_what_is_inlined(self):
		built = shell._built()
		early = shell.Asset("", shell.EARLY_SOCKET).csp_source
		self.assertEqual(
			shell.policy_sources(), (f"{early} {built.script.csp_source}", built.style.csp_source)
		)
