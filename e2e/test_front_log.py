"""The front keeps no deep link's token: its logs name the page, not the link."""

import re
import time
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from playwright.sync_api import Page
from webview import open_webview

LOG_TIMEOUT = 30
REDEEMED = re.compile(r'"GET /webview/count(\?\S*)? HTTP/1\.1" 303 ')


def test_an_opened_deep_link_leaves_no_token_in_the_access_log(page: Page, deep_link, stack):
	token = parse_qs(urlsplit(deep_link).query)["wvt"][0]
	before = len(REDEEMED.findall(stack.access_log()))

	open_webview(page, deep_link)

	# nginx writes a line once the response went out: wait for the redeem's 303.
	deadline = time.monotonic() + LOG_TIMEOUT
	while len(REDEEMED.findall(log := stack.access_log())) <= before:
		assert time.monotonic() < deadline, "the front logged no redeem of the link"
		time.sleep(0.1)
	assert token not in log
	assert '"GET /webview/count HTTP/1.1" 303 ' in log


def test_a_deep_link_the_web_server_could_not_answer_leaves_no_token_in_the_error_log(deep_link, stack):
	"""nginx's error log names a failed request by its request line, query and all."""
	token = parse_qs(urlsplit(deep_link).query)["wvt"][0]
	marker = f"/webview/count?after-the-link={time.monotonic_ns()}"
	stack.kill("web")
	try:
		assert requests.get(deep_link, allow_redirects=False, timeout=30).status_code >= 500
		# Logged after the link's request, so once it is there the link's would be too.
		assert requests.get(urljoin(deep_link, marker), timeout=30).status_code >= 500
		deadline = time.monotonic() + LOG_TIMEOUT
		while marker not in (log := stack.error_log()):
			assert time.monotonic() < deadline, "the front logged no failed request to the web server"
			time.sleep(0.1)
	finally:
		stack.restart("web")
	assert token not in log
