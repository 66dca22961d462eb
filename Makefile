# progimage: `make run` and `make test` do all the set-up on a fresh Debian 12 machine.
SHELL := /bin/bash
.DEFAULT_GOAL := run

# Debian packages the build and the stack need. Checked cheaply each time, installed
# with apt only when something is missing.
APT_PACKAGES := nginx-light libfcgi-dev libgd-dev libsqlite3-dev libheif-dev \
                libturbojpeg0-dev libssl-dev pkg-config
PKG_CONFIG_MODULES := fcgi gdlib sqlite3 libheif libturbojpeg libcrypto
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_BUILD := swift build -c release
BIN := .build/release
PYTHON ?= python3

.PHONY: run test unit-test integration-test build deps python-deps bench clean nginx-site

deps:
	@missing=0; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing=1; \
	command -v pkg-config >/dev/null 2>&1 || missing=1; \
	for m in $(PKG_CONFIG_MODULES); do pkg-config --exists $$m 2>/dev/null || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  echo "progimage: installing Debian packages: $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

build: deps
	$(SWIFT_BUILD) --product progimage-fcgi
	$(SWIFT_BUILD) --product progimage-dev

## The whole stack in the foreground: nginx on 127.0.0.1:$PROGIMAGE_PORT (default 8080)
## plus one supervised instance per role. Ctrl-C or SIGTERM stops all of it.
run: build
	exec $(BIN)/progimage-dev run

python-deps:
	@$(PYTHON) -c 'import PIL, pillow_heif, requests, pytest' 2>/dev/null || \
	  $(PYTHON) -m pip install -q -r tests/integration/requirements.txt

unit-test: deps
	swift test

integration-test: build python-deps
	PROGIMAGE_TEST_COMMAND="$(CURDIR)/$(BIN)/progimage-dev run" $(PYTHON) -m pytest -q tests/integration

## Unit tests of the libraries, then the integration suite against the real stack.
test: unit-test integration-test

## The committed production nginx site, regenerated from the code.
nginx-site: build
	$(BIN)/progimage-dev nginx-config --production > nginx/progimage.conf

bench: build
	bench/run.sh

clean:
	rm -rf .build
