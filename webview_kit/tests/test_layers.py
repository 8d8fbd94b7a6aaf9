"""The app's shape: imports flow one way, from the surface to the domain to infrastructure.

Read off the source with `ast`, imports inside functions included, so a cycle cannot hide
behind a lazy import; and every module imports on its own in a fresh interpreter.
"""

import ast
import importlib.util
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from frappe.tests.utils import FrappeTestCase

PACKAGE = Path(__file__).resolve().parents[1]
APP = PACKAGE.name
DEMO, TEST_APP = "webview_kit_demo", "webview_kit_testing"  # apps of their own (apps/)
OTHER_APPS = (DEMO, TEST_APP)
DEMO_WORDS = (DEMO, TEST_APP, "webview_demo", "Webview Demo", "slow_comment")


def product_files(pattern: str) -> list[Path]:
	"""The product's files: the package less its tests and build output."""
	skip = {"tests", "dist", "node_modules", "__pycache__"}
	return [
		path
		for path in PACKAGE.rglob(pattern)
		if path.is_file() and not skip & set(path.relative_to(PACKAGE).parts)
	]


def all_imports(path: Path) -> set[str]:
	"""Every module name `path` imports, inside functions too."""
	found = set()
	for node in ast.walk(ast.parse(path.read_text())):
		if isinstance(node, ast.Import):
			found |= {alias.name for alias in node.names}
		elif isinstance(node, ast.ImportFrom) and node.module:
			found.add(node.module)
	return found


def module_name(path: Path) -> str:
	parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
	return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules() -> dict[str, Path]:
	return {
		module_name(path): path
		for path in PACKAGE.rglob("*.py")
		if "tests" not in path.relative_to(PACKAGE).parts and "www" not in path.relative_to(PACKAGE).parts
	}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
	"""The app's modules `path` imports (a `from package import module` counts as the module)."""
	found = set()
	for node in ast.walk(ast.parse(path.read_text())):
		if isinstance(node, ast.Import):
			names = [alias.name for alias in node.names]
		elif isinstance(node, ast.ImportFrom) and node.module:
			submodules = [f"{node.module}.{alias.name}" for alias in node.names]
			names = [name for name in submodules if name in modules] or [node.module]
		else:
			continue
		found |= {name for name in names if name in modules}
	found.discard(module_name(path))
	return found


def import_graph() -> dict[str, set[str]]:
	modules = app_modules()
	return {name: imports_of(path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
	visiting, done = [], set()

	def visit(node):
		if node in visiting:
			return [*visiting[visiting.index(node) :], node]
		if node in done:
			return None
		visiting.append(node)
		for target in sorted(graph.get(node, ())):
			if cycle := visit(target):
				return cycle
		visiting.pop()
		done.add(node)
		return None

	for node in sorted(graph):
		if cycle := visit(node):
			return cycle
	return None


class TestLayers(FrappeTestCase):
	def test_the_app_has_no_import_cycle(self):
		self.assertIsNone(find_cycle(import_graph()))

	def test_the_cycle_finder_finds_a_cycle(self):
		self.assertEqual(find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}), ["a", "b", "c", "a"])

	def test_infrastructure_imports_nothing_above_it(self):
		for name, targets in import_graph().items():
			if name.startswith(f"{APP}.infra"):
				with self.subTest(name):
					self.assertEqual({t for t in targets if not t.startswith(f"{APP}.infra")}, set())

	def test_metrics_is_a_leaf_that_others_report_into(self):
		self.assertEqual(import_graph()[f"{APP}.infra.metrics"], {f"{APP}.infra.queue_redis"})

	def test_the_product_does_not_import_the_demo(self):
		for path in product_files("*.py"):
			with self.subTest(str(path.relative_to(PACKAGE))):
				self.assertEqual({name for name in all_imports(path) if name.startswith(OTHER_APPS)}, set())

	def test_the_product_ships_no_demo_page_fragment_or_test_helper(self):
		"""What `install-app webview_kit` installs names nothing of the demo's or the test app's."""
		for path in product_files("*"):
			text = (
				path.read_text(errors="replace") if path.suffix in (".py", ".html", ".json", ".txt") else ""
			)
			with self.subTest(str(path.relative_to(PACKAGE))):
				self.assertEqual([word for word in DEMO_WORDS if word in text], [])

	def test_the_demo_does_not_import_the_test_app(self):
		demo = Path(importlib.util.find_spec(DEMO).origin).parent
		for path in demo.rglob("*.py"):
			with self.subTest(str(path.relative_to(demo))):
				self.assertEqual({n for n in all_imports(path) if n.startswith(TEST_APP)}, set())

	def test_every_module_imports_first_in_a_fresh_interpreter(self):
		def import_alone(name: str) -> subprocess.CompletedProcess:
			return subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True)

		names = [*sorted(app_modules()), DEMO, f"{DEMO}.hooks", f"{DEMO}.commands", f"{TEST_APP}.actions"]
		with ThreadPoolExecutor(max_workers=4) as pool:
			for name, done in zip(names, pool.map(import_alone, names), strict=True):
				with self.subTest(name):
					self.assertEqual(done.returncode, 0, msg=done.stderr[-2000:])
