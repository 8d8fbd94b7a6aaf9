"""(6) Deep-link tokens: issue, redeem, the landing page's first byte, verifications per second.

Stock Frappe's nearest thing is its one-time login link ("login with email link":
`_generate_temporary_login_link`, redeemed at `frappe.www.login.login_via_key`), which
lands on /me. It has no HTTP API for a backend to issue one (it is mailed), so the
HTTP issue row has no stock figure.

Over HTTP, through the front, one fresh connection per request as a phone would:
- issue: POST webview_kit.api.issue_link with the issuer's API key;
- redeem: GET the link, not following its redirect (303 or 302 with a session cookie);
- first byte: GET the page the redirect names with that session, until the response headers.
In one process (inside the site): issue including webview_kit's audit record, and
verification (webview_kit: `auth.redeem`; stock: the cache lookup and delete that
`login_via_key` does before signing in).
"""

from __future__ import annotations

import time
from urllib.parse import urljoin

import requests

from .run import ROUTE, USERS, Bench
from .stats import Results, Row, summary


def _ms(fn):
	began = time.perf_counter()
	value = fn()
	return (time.perf_counter() - began) * 1000, value


def run(bench: Bench, results: Results) -> None:
	n = bench.sizes.token_samples
	user = USERS["webview_kit"]
	headers = {"Authorization": f"token {bench.issuer_key}", "Accept": "application/json"}

	def issue():
		response = requests.post(
			f"{bench.url}/api/method/webview_kit.api.issue_link",
			data={"user": user, "route": ROUTE, "ttl": 600},
			headers=headers,
			timeout=30,
		)
		response.raise_for_status()
		return response.json()["message"]["url"]

	issued = [_ms(issue) for _ in range(n)]
	http = {
		"webview_kit": {"issue": summary([ms for ms, _ in issued]), **_open([url for _, url in issued], 303)},
		"stock": _open(bench.agent.call("stock_links", user=USERS["stock"], count=n), 302),
	}
	in_process = bench.agent.call("tokens", user=user, route=ROUTE, count=n)
	results.details["tokens"] = {"http": http, "in_process": in_process}
	wvk, stock = http["webview_kit"], http["stock"]
	section = "6 deep-link tokens (stock: Frappe's login link)"
	results.add(
		Row(section, "issue over HTTP p50", "ms", wvk["issue"]["p50"], None, note="stock: mailed, no API"),
		Row(section, "issue over HTTP p99", "ms", wvk["issue"]["p99"], None),
		Row(
			section,
			"issue in-process p50",
			"ms",
			in_process["webview_kit"]["issue_ms"]["p50"],
			in_process["stock"]["issue_ms"]["p50"],
			note="webview_kit writes an audit record",
		),
		Row(
			section,
			"issue in-process p99",
			"ms",
			in_process["webview_kit"]["issue_ms"]["p99"],
			in_process["stock"]["issue_ms"]["p99"],
		),
		Row(section, "redeem p50", "ms", wvk["redeem"]["p50"], stock["redeem"]["p50"]),
		Row(section, "redeem p99", "ms", wvk["redeem"]["p99"], stock["redeem"]["p99"]),
		Row(
			section,
			"landing page first byte p50",
			"ms",
			wvk["first_byte"]["p50"],
			stock["first_byte"]["p50"],
			note="stock lands on /me",
		),
		Row(
			section, "landing page first byte p99", "ms", wvk["first_byte"]["p99"], stock["first_byte"]["p99"]
		),
		Row(
			section,
			"tokens verified per second, one process",
			"tokens/s",
			in_process["webview_kit"]["verified_per_second"],
			in_process["stock"]["verified_per_second"],
			lower_is_better=False,
		),
	)


def _open(links: list[str], status: int) -> dict:
	"""Redeem each link, then fetch its landing page with the new session; time both."""
	redeem, first_byte = [], []
	for link in links:
		ms, response = _ms(lambda: requests.get(link, allow_redirects=False, timeout=30))
		if response.status_code != status or "sid" not in response.cookies:
			raise RuntimeError(f"{link.split('?')[0]} answered {response.status_code}: {response.text[:200]}")
		redeem.append(ms)
		landing = urljoin(link, response.headers["Location"])
		cookies = {"sid": response.cookies["sid"]}
		ms, page = _ms(lambda: requests.get(landing, cookies=cookies, stream=True, timeout=30))
		page.close()
		if page.status_code != 200:
			raise RuntimeError(f"{landing} answered {page.status_code}")
		first_byte.append(ms)
	return {"redeem": summary(redeem), "first_byte": summary(first_byte)}
