# dockyard: set-up, demo and tests on Debian 12 (run as root: containers need namespaces and mounts).
SHELL := /bin/bash
PYTHON ?= python3
APT_PACKAGES := curl runc busybox-static tini iproute2 iptables docker-registry skopeo podman wrk apache2-utils gcc libc6-dev chromium chromium-driver
DATA_ROOT ?= /var/lib/dockyard
SOCKET ?= /run/dockyard/dockyard.sock
PIDFILE ?= /run/dockyard/dockyardd.pid
export DOCKER_HOST ?= unix://$(SOCKET)

.PHONY: setup demo test daemon stop-daemon images bench

setup:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	$(PYTHON) -m pip install -q -e '.[test]'

daemon: setup
	SOCKET=$(SOCKET) DATA_ROOT=$(DATA_ROOT) PIDFILE=$(PIDFILE) scripts/start-daemon

stop-daemon:  # only the daemon `make daemon` started (its pidfile), not test daemons
	-[ -f $(PIDFILE) ] && kill -TERM $$(cat $(PIDFILE)) ; true

images: daemon
	scripts/mkimage-busybox -o /tmp/dockyard-busybox.tar && dockyard load -i /tmp/dockyard-busybox.tar
	scripts/mkimage-hello -o /tmp/dockyard-hello.tar && dockyard load -i /tmp/dockyard-hello.tar

demo: images
	dockyard run --rm busybox echo "Hello, World!"
	docker run --rm hello-world
	docker images

test: setup
	$(PYTHON) -m pytest -q -p no:cacheprovider tests

bench: images
	$(PYTHON) bench/run_latency.py
