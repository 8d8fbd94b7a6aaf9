"""Page weight: the gzipped bytes of what a page loads, and the report the docs quote."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import requests

REPORT = Path("test-results/page-weight.json")


def gzipped(body: bytes) -> int:
	return len(gzip.compress(body, compresslevel=6))


def script_sources(html: str) -> list[str]:
	return re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", html)


def style_sources(html: str) -> list[str]:
	return re.findall(r"<link\b[^>]*\brel=\"stylesheet\"[^>]*\bhref=\"([^\"]+)\"", html)


def inline_scripts(html: str) -> list[str]:
	"""The text of every inline script that runs (JSON data islands do not)."""
	scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
	return [text for attributes, text in scripts if "src=" not in attributes and "json" not in attributes]


def inline_styles(html: str) -> list[str]:
	return re.findall(r"<style\b[^>]*>(.*?)</style>", html, re.DOTALL)


def shell_assets(html: str) -> list[str]:
	"""The bundle's script and stylesheet a page inlined, as the page's config names them."""
	config = re.search(r'<script type="application/json" id="wvk-config">(.*?)</script>', html, re.DOTALL)
	return json.loads(config[1])["shell"]["assets"]


def weigh(base_url: str, sources: list[str]) -> int:
	total = 0
	for source in sources:
		response = requests.get(base_url + source, timeout=30)
		response.raise_for_status()
		total += gzipped(response.content)
	return total


def record(**numbers) -> None:
	REPORT.parent.mkdir(parents=True, exist_ok=True)
	report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
	REPORT.write_text(json.dumps({**report, **numbers}, indent=1))
