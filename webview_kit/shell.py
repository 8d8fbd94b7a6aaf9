"""The shell's own script and stylesheet, inlined until the phone has them cached.

A cold WebView opening a deep link would otherwise wait a whole round trip after the
document for 13 KB of script and style. So a page inlines them, allowed by their hashes in
its content security policy. Once live, it fetches the two files into the HTTP cache in the
background and names their build in a cookie; the pages that see that cookie link the
files, which then cost no request at all. Either way, a one-line script at the top of the
page opens its WebSocket before the rest has arrived.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import ClassVar

import frappe
from frappe.utils.jinja_globals import bundled_asset

__all__ = ["COOKIE", "Shell", "current", "policy_sources"]

COOKIE = "wvk_shell"
SCRIPT, STYLE = "webview.bundle.js", "webview.bundle.css"
# A relative source map would resolve against the page, not the asset.
SOURCE_MAP = re.compile(r"(sourceMappingURL=)([^\s*]+)")
# Text that would end the element it is inlined into.
CLOSING_TAG = re.compile(r"</(script|style)", re.IGNORECASE)
# The first thing a page runs: it opens the page's WebSocket while the rest of the document
# and the bundle still arrive, keeping what the server says for socket.js to adopt.
EARLY_SOCKET = (
	"(()=>{const ws=new WebSocket(`${location.protocol==='https:'?'wss':'ws'}://${location.host}"
	"/socket.io/?EIO=4&transport=websocket`),received=[];ws.onmessage=(m)=>received.push(m.data);"
	"ws.onclose=()=>{received.closed=true};window.wvkEarlySocket={ws,received}})()"
)


@dataclass(frozen=True)
class Asset:
	url: str
	text: str

	# An Asset is read once per build (_load), so these are worked out once, not per page.
	@cached_property
	def csp_source(self) -> str:
		digest = hashlib.sha256(self.text.encode()).digest()
		return f"'sha256-{base64.b64encode(digest).decode()}'"

	@cached_property
	def inlinable(self) -> bool:
		"""False if the text would end the element it is inlined into."""
		return not CLOSING_TAG.search(self.text)


@dataclass(frozen=True)
class Shell:
	script: Asset
	style: Asset
	inline: bool = False
	early_socket: ClassVar[str] = EARLY_SOCKET  # the same on every page: its hash is in the policy

	@property
	def build(self) -> str:
		"""A name for this build of the pair: the cookie's value once the phone has cached it."""
		return hashlib.sha256(f"{self.script.url} {self.style.url}".encode()).hexdigest()[:16]

	def for_page(self) -> dict:
		"""What the page's script needs to cache the pair and say so, when they were inlined."""
		if not self.inline:
			return {}
		return {"shell": {"cookie": COOKIE, "build": self.build, "assets": [self.script.url, self.style.url]}}


def current() -> Shell:
	"""The shell for this request: inlined unless the cookie names this build."""
	shell = _built()
	cached = frappe.request and frappe.request.cookies.get(COOKIE) == shell.build
	inlinable = shell.script.inlinable and shell.style.inlinable
	return Shell(shell.script, shell.style, inline=not cached and inlinable)


def policy_sources() -> tuple[str, str]:
	"""The extra `script-src` and `style-src` sources that allow the shell's inline parts."""
	shell = _built()
	return f"{_EARLY.csp_source} {shell.script.csp_source}", shell.style.csp_source


_EARLY = Asset("", EARLY_SOCKET)


def _built() -> Shell:
	return Shell(_read(bundled_asset(SCRIPT)), _read(bundled_asset(STYLE)))


def _read(url: str) -> Asset:
	path = os.path.join(frappe.local.sites_path, url.lstrip("/"))
	return _load(url, path, os.stat(path).st_mtime_ns)


@lru_cache(maxsize=8)
def _load(url: str, path: str, _mtime: int) -> Asset:
	with open(path, encoding="utf-8") as f:
		text = f.read().rstrip()
	base = url.rsplit("/", 1)[0]
	return Asset(url, SOURCE_MAP.sub(lambda m: m[1] + f"{base}/{m[2]}", text))
