"""A phone on the same network opens `make up`'s link: HOST, PUBLIC_URL and the machine's own address.

The phone is a network namespace this test makes (`ip netns add`), joined to the machine by
a veth pair with a private /30 on it and nothing else: no route to loopback or any other
address. The native stack is brought up with its front on the veth's machine end
(`HOST=<that address>`, the case `HOST=0.0.0.0` reduces to for a phone on that network), and
Chromium inside the namespace opens the link `make up` printed. Afterwards the stack is
brought up again as it was (loopback) and the namespace is deleted.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stack.layout import REPO, Layout
from stack.native import Stack, machine_address

PHONE = Path(__file__).parent / "phone.py"
UP_TIMEOUT = 600


# -- which address `HOST=0.0.0.0` prints -----------------------------------------

ADDRESSES = [
	{"ifname": "docker0", "addr_info": [{"family": "inet", "local": "172.17.0.1", "scope": "global"}]},
	{"ifname": "wlan0", "addr_info": [{"family": "inet", "local": "192.168.1.20", "scope": "global"}]},
	{"ifname": "eth0", "addr_info": [{"family": "inet", "local": "10.0.0.7", "scope": "global"}]},
]


def test_all_addresses_print_the_default_routes_address():
	assert machine_address(ADDRESSES, [{"dst": "default", "dev": "wlan0"}]) == "192.168.1.20"


def test_without_a_default_route_a_container_bridge_comes_last():
	assert machine_address(ADDRESSES, []) == "192.168.1.20"
	assert machine_address(ADDRESSES[:1], []) == "172.17.0.1"


def test_a_machine_without_an_address_has_none():
	assert machine_address([], []) is None


# -- the phone in its own namespace ----------------------------------------------


def run(*argv: str) -> None:
	subprocess.run(argv, check=True, capture_output=True, text=True)


def _cannot_make_namespaces() -> str | None:
	if os.geteuid() != 0:
		return "making a network namespace needs root"
	if shutil.which("ip") is None:
		return "iproute2 (`ip`) is not installed"
	return None


def _cannot_run_the_phone() -> str | None:
	if problem := _cannot_make_namespaces():
		return problem
	if not Stack().is_up():
		return "needs this cache's native stack running (`make up STACK=native`)"
	return None


@pytest.fixture
def phone_network(tmp_path):
	"""(namespace, the machine's veth address, the phone's): a /30 in 10.0.0.0/8, made and removed here."""
	tag = f"{os.getpid() % 100000}"
	namespace, machine_end, phone_end = f"wvk-phone-{tag}", f"wvkm{tag}", f"wvkp{tag}"
	taken = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
	while True:
		subnet = f"10.{random.randint(200, 254)}.{random.randint(0, 255)}.{random.randrange(0, 256, 4)}"
		base = subnet.rsplit(".", 1)[0]
		if f"inet {base}." not in taken:
			break
	last = int(subnet.rsplit(".", 1)[1])
	machine, phone = f"{base}.{last + 1}", f"{base}.{last + 2}"
	run("ip", "netns", "add", namespace)
	try:
		run("ip", "link", "add", machine_end, "type", "veth", "peer", "name", phone_end)
		run("ip", "link", "set", phone_end, "netns", namespace)
		run("ip", "addr", "add", f"{machine}/30", "dev", machine_end)
		run("ip", "link", "set", machine_end, "up")
		inside = ("ip", "netns", "exec", namespace)
		run(*inside, "ip", "addr", "add", f"{phone}/30", "dev", phone_end)
		run(*inside, "ip", "link", "set", phone_end, "up")
		run(*inside, "ip", "link", "set", "lo", "up")
		yield namespace, machine, phone
	finally:
		subprocess.run(["ip", "link", "delete", machine_end], capture_output=True)
		run("ip", "netns", "delete", namespace)


def make_up(log: Path, **env: str) -> str:
	"""`stack/run up --demo` (what `make up` runs) with `env`; what it printed."""
	with open(log, "w") as out:
		done = subprocess.run(
			[sys.executable, "-m", "stack", "up", "--demo", "--stack", "native"],
			cwd=REPO,
			env={**os.environ, **env},
			stdout=out,
			stderr=subprocess.STDOUT,
			timeout=UP_TIMEOUT,
		)
	printed = log.read_text()
	assert done.returncode == 0, printed[-3000:]
	return printed


@pytest.mark.skipif(bool(_cannot_run_the_phone()), reason=_cannot_run_the_phone() or "")
def test_a_phone_on_the_same_network_opens_the_printed_link(phone_network, tmp_path):
	namespace, machine, _phone = phone_network
	try:
		printed = make_up(tmp_path / "up.log", WEBVIEW_KIT_HOST=machine)
		link = re.search(r"^(http://\S+/webview/count\?wvt=\S+)$", printed, re.MULTILINE).group(1)
		front = re.match(r"http://[^/]+", link).group(0)
		assert front.startswith(f"http://{machine}:"), link
		assert f"A phone on the same network opens {front}" in printed
		config = json.loads((Layout().sites / Layout().site / "site_config.json").read_text())
		assert config["host_name"] == front

		result = tmp_path / "phone.json"
		log = tmp_path / "phone.log"
		with open(log, "w") as out:
			done = subprocess.run(
				["ip", "netns", "exec", namespace, sys.executable, str(PHONE), link, front, str(result)],
				cwd=REPO,
				env={**os.environ, "PYTHONPATH": str(REPO)},
				stdout=out,
				stderr=subprocess.STDOUT,
				timeout=180,
			)
		assert done.returncode == 0, log.read_text()[-3000:]
		seen = json.loads(result.read_text())
		assert seen["redeem_status"] == 303
		assert seen["url"] == f"{front}/webview/count"
		assert seen["count_changed"], "the page applied a published event over its socket"
		assert seen["foreign_origin_socket"] == 403
		assert seen["own_origin_socket"] == 200
	finally:
		make_up(tmp_path / "up-again.log")  # the stack as the suite expects it: on loopback


@pytest.mark.skipif(bool(_cannot_make_namespaces()), reason=_cannot_make_namespaces() or "")
def test_the_phone_cannot_reach_the_machine_but_through_its_veth(phone_network):
	"""The namespace is what the test says: one private address, and no route elsewhere."""
	namespace, machine, phone = phone_network
	routes = subprocess.run(
		["ip", "netns", "exec", namespace, "ip", "-4", "route"], capture_output=True, text=True, check=True
	).stdout
	assert "default" not in routes
	assert routes.split()[0].startswith(machine.rsplit(".", 1)[0])
	addresses = subprocess.run(
		["ip", "netns", "exec", namespace, "ip", "-4", "-o", "addr"],
		capture_output=True,
		text=True,
		check=True,
	).stdout
	assert sorted(re.findall(r"inet (\S+)/", addresses)) == sorted(["127.0.0.1", phone])
