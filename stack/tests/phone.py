"""A phone on the same network, run inside the test's network namespace (`ip netns exec`).

`python phone.py LINK FRONT RESULT` opens the deep link LINK in Chromium with an iPhone's
profile, waits until the page is live and has applied a published count, asks the front
for a socket with a foreign Origin and with the page's own, and writes what it saw to RESULT
as JSON. It reaches the stack only through the veth address in LINK: the namespace has no
other route.
"""

from __future__ import annotations

import http.client
import json
import re
import sys
from urllib.parse import urlsplit

from playwright.sync_api import expect, sync_playwright

from stack.chromium import CHROMIUM, CHROMIUM_ARGS

LIVE_TIMEOUT = 30_000
SOCKET = "/socket.io/?EIO=4&transport=polling"


def socket_status(front: str, origin: str) -> int:
	"""The front's answer to an engine.io handshake sent with `origin`."""
	parts = urlsplit(front)
	connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
	try:
		connection.request("GET", SOCKET, headers={"Origin": origin})
		response = connection.getresponse()
		response.read()
		return response.status
	finally:
		connection.close()


def main(link: str, front: str, result: str) -> None:
	seen: dict = {}
	with sync_playwright() as playwright:
		browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
		context = browser.new_context(**playwright.devices["iPhone 13"])
		page = context.new_page()
		response = page.goto(link)
		seen["redeem_status"] = response.request.redirected_from.response().status
		expect(page).to_have_url(re.compile(r"/webview/count$"))
		expect(page.locator("body")).to_have_attribute("data-realtime", "live", timeout=LIVE_TIMEOUT)
		seen["url"] = page.url
		# The demo publisher counts once a second: a changed value came over the socket.
		first = page.get_by_test_id("count").text_content()
		expect(page.get_by_test_id("count")).not_to_have_text(first, timeout=LIVE_TIMEOUT)
		seen["count_changed"] = True
		browser.close()
	seen["own_origin_socket"] = socket_status(front, front)
	seen["foreign_origin_socket"] = socket_status(front, "http://evil.test")
	with open(result, "w") as out:
		json.dump(seen, out)


if __name__ == "__main__":
	main(*sys.argv[1:4])
