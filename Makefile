# Thin verbs over stack/ (the native launcher) and docker/ (the same stack in containers).
# Everything they build lives outside the repo, in ~frappe/.cache/webview_kit (or
# $(WEBVIEW_KIT_CACHE)), and is reused by the next run.

RUN := stack/run
# native, docker, or auto: docker when an engine answers, native otherwise.
STACK ?= auto
# FRAPPE=16: build the bench from Frappe's version-16 with Python 3.14 (a machine that has it,
# Debian forky or newer; give it a WEBVIEW_KIT_CACHE of its own). docs/operations.md
ifeq ($(FRAPPE),16)
export FRAPPE_BRANCH ?= version-16
export BENCH_PYTHON ?= /usr/bin/python3.14
endif

# A phone on the same network: HOST=0.0.0.0 binds the front to every address (links use this
# machine's own), PUBLIC_URL=https://… makes links and QR codes use a tunnel or reverse proxy.
# Taken from make's command line only: some shells export a HOST of their own (the host name).
ifeq ($(origin HOST),command line)
export WEBVIEW_KIT_HOST := $(HOST)
endif
ifeq ($(origin PUBLIC_URL),command line)
export WEBVIEW_KIT_PUBLIC_URL := $(PUBLIC_URL)
endif

.PHONY: system setup up down link order status test e2e server-tests lint benchmark

# Debian packages, yarn 1 and the bench user; quick when all is there.
system:
	stack/setup-system

# Also build the cached bench now (up and test build it when missing anyway).
setup: system
	$(RUN) build

up: system
	$(RUN) up --demo --stack $(STACK)

down:
	$(RUN) down --stack $(STACK)

# make link [ROUTE=/webview/order PARAMS="name=WDO-0001 ..."]
link:
	$(RUN) link --qr $(if $(ROUTE),--route $(ROUTE)) $(foreach p,$(PARAMS),--param $(p))

order:
	$(RUN) order

status:
	$(RUN) status

# Lint first (ruff, and tsc on the page side's types): seconds, before the long part.
test: system
	$(RUN) lint
	$(RUN) test --stack native

e2e: system
	$(RUN) test --stack $(STACK) --only e2e

server-tests: system
	$(RUN) test --stack native --only server

lint:
	$(RUN) lint

# STACK=swarm: the rolling-deploy measure on the running swarm stack (make up STACK=swarm).
benchmark: system
	$(if $(filter swarm,$(STACK)),WEBVIEW_KIT_STACK=swarm) $(RUN) benchmark
