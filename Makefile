# Thin verbs over stack/ (the native launcher) and docker/ (the same stack in containers).
# Everything they build lives outside the repo, in ~frappe/.cache/webview_kit (or
# $(WEBVIEW_KIT_CACHE)), and is reused by the next run.

RUN := stack/run
# native, docker, or auto: docker when an engine answers, native otherwise.
STACK ?= auto

.PHONY: setup up down link status test e2e server-tests lint benchmark

setup:
	stack/setup-system
	$(RUN) build

up: setup
	$(RUN) up --demo --stack $(STACK)

down:
	$(RUN) down --stack $(STACK)

link:
	$(RUN) link --qr

status:
	$(RUN) status

test: setup
	$(RUN) test --stack native

e2e: setup
	$(RUN) test --stack $(STACK) --only e2e

server-tests: setup
	$(RUN) test --stack native --only server

lint:
	$(RUN) lint

benchmark: setup
	$(RUN) benchmark
