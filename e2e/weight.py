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
