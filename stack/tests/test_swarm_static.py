"""The Swarm stack file, checked without an engine: the compose stack's services, Swarm's rules.

`docker/swarm.yaml` runs the images and processes of `docker/compose.yaml`; these tests fail
when the two drift apart, and check what only Swarm has: replicas, rolling-update order,
secrets and configs, the set-up job.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from stack.docker import COMPOSE_FILE, DOTENV, SERVICES, read_dotenv
from stack.layout import REPO
from stack.swarm import SECRETS, SWARM_FILE
from stack.tests.test_docker_static import SCHEMA, interpolate

ENV = {
	**read_dotenv(DOTENV),
	"WEBVIEW_KIT_SECRETS": "/var/lib/webview_kit/secrets",
	"WEBVIEW_KIT_PUBLIC_URL": "http://127.0.0.1:8080",
	"FRONT_TEMPLATE_DIGEST": "0123abcd",
	"TRUSTED_PROXIES_DIGEST": "4567ef01",
	"FOLLOW_UPSTREAMS_DIGEST": "89ab2345",
}
LONG_RUNNING = sorted(set(SERVICES.values()))


@pytest.fixture(scope="module")
def swarm() -> dict:
	return interpolate(yaml.safe_load(SWARM_FILE.read_text()), ENV)


@pytest.fixture(scope="module")
def compose() -> dict:
	return interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), ENV)


def test_the_stack_file_matches_the_compose_spec_schema(swarm):
	jsonschema.validate(swarm, json.loads(SCHEMA.read_text()))


def test_the_stack_runs_every_compose_service_and_one_set_up_job(swarm):
	assert set(swarm["services"]) == set(LONG_RUNNING) | {"setup"}
	assert swarm["services"]["setup"]["deploy"]["mode"] == "replicated-job"
	for name in LONG_RUNNING:
		assert swarm["services"][name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
		assert "depends_on" not in swarm["services"][name] and "restart" not in swarm["services"][name]


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_each_service_runs_what_compose_runs(swarm, compose, name):
	ours, theirs = swarm["services"][name], compose["services"][name]
	for key in ("command", "working_dir", "volumes"):
		if name != "frontend" or key == "command":
			assert ours.get(key) == theirs.get(key), f"{name}: {key}"
	assert ours["healthcheck"]["test"] == theirs["healthcheck"]["test"], name
	expected_env = dict(theirs.get("environment") or {})
	if name == "frontend":  # the routing mesh delivers on an address only the front has
		expected_env["FRONT_SELF"] = "frontend:8080"
	assert (ours.get("environment") or {}) == expected_env, name


def test_the_image_is_the_one_compose_builds(swarm, compose):
	for name in LONG_RUNNING:
		image = swarm["services"][name]["image"]
		assert image == compose["services"][name]["image"], name


def test_two_web_and_two_socket_servers_roll_one_at_a_time_healthy_first(swarm):
	for name in ("backend", "websocket"):
		deploy = swarm["services"][name]["deploy"]
		assert deploy["replicas"] == "2", name
		roll = deploy["update_config"]
		assert roll["parallelism"] == 1 and roll["order"] == "start-first", name
		assert roll["failure_action"] == "rollback", name
	# A host-mode port has one task per node: the front cannot start its successor first.
	assert swarm["services"]["frontend"]["deploy"]["update_config"]["order"] == "stop-first"


@pytest.mark.parametrize("name", ["mariadb", "redis-cache", "redis-queue", "scheduler"])
def test_what_must_not_run_twice_stops_before_its_successor_starts(swarm, name):
	assert swarm["services"][name]["deploy"]["update_config"]["order"] == "stop-first"


def test_both_passwords_are_secrets_held_by_the_database_and_the_job_only(swarm):
	assert set(swarm["secrets"]) == set(SECRETS)
	for secret in swarm["secrets"].values():
		source = Path(secret["file"])
		assert source.is_absolute() and REPO not in source.parents
	holders = {
		name: service["secrets"] for name, service in swarm["services"].items() if "secrets" in service
	}
	assert holders == {"mariadb": ["db-root-password"], "setup": ["db-root-password", "admin-password"]}
	for name, service in swarm["services"].items():
		variables = service.get("environment") or {}
		assert all(key.endswith("_FILE") for key in variables if "PASSWORD" in key), name
	setup = swarm["services"]["setup"]["environment"]
	assert setup["ADMIN_PASSWORD_FILE"] == "/run/secrets/admin-password"
	assert setup["DB_ROOT_PASSWORD_FILE"] == "/run/secrets/db-root-password"


def test_only_the_front_is_published_and_the_data_network_is_internal(swarm):
	assert [name for name, service in swarm["services"].items() if "ports" in service] == ["frontend"]
	assert swarm["networks"]["data"] == {"driver": "overlay", "internal": True}
	assert swarm["services"]["frontend"]["networks"] == ["front"]
	for name in ("mariadb", "redis-cache", "redis-queue"):
		assert swarm["services"][name]["networks"] == ["data"], name


def test_the_set_up_job_does_what_the_compose_jobs_do(swarm, compose):
	script = swarm["services"]["setup"]["command"][0]
	for line in compose["services"]["configurator"]["command"][0].strip().splitlines():
		assert line in script, line
	# The site steps are docker/site-setup's, which both run; the swarm's admin password is a secret.
	assert compose["services"]["create-site"]["command"] == ["webview-kit-site-setup"]
	assert script.strip().splitlines()[-1] == "webview-kit-site-setup"


def test_the_front_gets_the_template_and_proxy_script_as_configs_named_by_content(swarm):
	configs = swarm["configs"]
	assert (SWARM_FILE.parent / configs["front-template"]["file"]).resolve() == (
		REPO / "stack" / "nginx" / "webview_kit.conf.template"
	)
	assert (SWARM_FILE.parent / configs["trusted-proxies"]["file"]).resolve() == (
		REPO / "docker" / "nginx" / "trusted-proxies.envsh"
	)
	assert configs["front-template"]["name"].endswith(ENV["FRONT_TEMPLATE_DIGEST"])
	targets = {c["source"]: c["target"] for c in swarm["services"]["frontend"]["configs"]}
	assert targets == {
		"front-template": "/etc/nginx/templates/default.conf.template",
		"trusted-proxies": "/docker-entrypoint.d/15-trusted-proxies.envsh",
		"follow-upstreams": "/docker-entrypoint.d/40-follow-upstreams.sh",
	}
	assert (SWARM_FILE.parent / configs["follow-upstreams"]["file"]).resolve() == (
		REPO / "docker" / "nginx" / "follow-upstreams.sh"
	)


def test_every_service_resolves_to_its_tasks_and_the_front_follows_them(swarm):
	"""No virtual IPs or routing mesh: they need IPVS, which a host's kernel may lack."""
	for name, service in swarm["services"].items():
		assert service["deploy"]["endpoint_mode"] == "dnsrr", name
	assert swarm["services"]["frontend"]["ports"][0]["mode"] == "host"
	follower = next(c for c in swarm["services"]["frontend"]["configs"] if c["source"] == "follow-upstreams")
	assert follower["mode"] & 0o111, "the entrypoint runs only executable scripts"
