# dockyard: set-up, demo and tests on Debian 12 (run as root: containers need namespaces and mounts).
SHELL := /bin/bash
PYTHON ?= python3
APT_PACKAGES := curl runc busybox-static tini iproute2 iptables docker-registry skopeo podman wrk apache2-utils gcc libc6-dev
DATA_ROOT ?= /var/lib/dockyard
SOCKET ?= /run/dockyard/dockyard.sock
export DOCKER_HOST ?= unix://$(SOCKET)

.PHONY: setup demo test daemon stop-daemon images bench

setup:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	$(PYTHON) -m pip install -q -e '.[test]'

daemon: setup
	@if ! curl -s --unix-socket $(SOCKET) http://d/_ping >/dev/null 2>&1; then \
	  mkdir -p /var/log && nohup dockyardd --data-root $(DATA_ROOT) -H unix://$(SOCKET) >/var/log/dockyard.log 2>&1 & \
	  for i in $$(seq 100); do curl -s --unix-socket $(SOCKET) http://d/_ping >/dev/null 2>&1 && break; sleep 0.1; done; \
	fi
	@echo "dockyard daemon is listening on $(SOCKET) (log: /var/log/dockyard.log)"

stop-daemon:
	-pkill -TERM -f 'dockyardd|dockyard.daemon' ; true

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
