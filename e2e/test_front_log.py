"""The front keeps no deep link's token: the access log names the page, not the link."""

import re
import time
from urllib.parse import parse_qs, urlsplit

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
