"""The native front's nginx limits: enough workers and connections for 10,000 sockets."""

from stack.native import NGINX_MAIN, nginx_limits


def test_two_workers_hold_10000_proxied_sockets_within_a_20000_fd_hard_limit():
	limits = nginx_limits(hard_nofile=20_000, cpus=2)
	assert limits["nofile"] <= 20_000
	assert limits["connections"] < limits["nofile"]
	# Each proxied socket is two connections; a worker stops accepting at 7/8 full.
	assert limits["workers"] * limits["connections"] * 7 // 8 >= 2 * 10_000


def test_one_core_still_gets_two_workers():
	assert nginx_limits(hard_nofile=20_000, cpus=1)["workers"] == 2


def test_a_low_hard_limit_leaves_descriptors_beyond_the_connections():
	limits = nginx_limits(hard_nofile=1024, cpus=2)
	assert limits == {"workers": 2, "nofile": 1024, "connections": 768}


def test_the_main_config_renders_with_the_limits():
	config = NGINX_MAIN.format(run="/run", logs="/logs", **nginx_limits(hard_nofile=20_000, cpus=2))
	assert "worker_processes 2;" in config
	assert "worker_rlimit_nofile 16640;" in config
	assert "worker_connections 16384; accept_mutex on;" in config
