# progimage: `make run` and `make test` do all the set-up on a fresh Debian 12 machine.
SHELL := /bin/bash
.DEFAULT_GOAL := run

# Debian packages the build and the stack need. Checked cheaply each time, installed
# with apt only when something is missing.
APT_PACKAGES := nginx-light libfcgi-dev libgd-dev libsqlite3-dev libheif-dev \
                libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev liblcms2-dev libtiff-dev zlib1g-dev libwebp-dev libdeflate-dev libjxl-dev \
                libssl-dev libcurl4-openssl-dev libpq-dev pkg-config python3-venv
PKG_CONFIG_MODULES := fcgi gdlib sqlite3 libheif libturbojpeg libjpeg libpng16 libtiff-4 lcms2 zlib libdeflate libjxl libwebpdemux libwebpmux libcrypto libcurl libpq
# What only the tests need: a PostgreSQL server to start (the suite runs its own cluster),
# Ghostscript's CMYK profile (the colour tests' reference), curl (signs the tests' own S3 calls),
# Chromium (the browser test, headless), cjxl (a JPEG XL with an opaque alpha channel, which
# neither Pillow nor the service writes).
TEST_APT_PACKAGES := postgresql-15 libgs-common curl chromium libjxl-tools
TEST_FILES := /usr/lib/postgresql/15/bin/postgres /usr/share/color/icc/ghostscript/default_cmyk.icc /usr/bin/curl /usr/bin/chromium /usr/bin/cjxl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# One build for `make run`, `make install` and `make bench`, with the Swift runtime linked in
# (`--static-swift-stdlib`): the worker the stack runs and the tests test is the one a host
# installs, which needs Debian's C libraries and no Swift toolchain. Measured against the
# dynamically linked build: the same speed in-process (12 MP → 800 px JPEG 29–34 ms both),
# idle workers 25 MB resident instead of 34, and no second clean build for `make install`
# (68 s of a fresh clone's `make test`). Linking `progimage` (the CLI) prints glibc's
# link-time warning that `mktemp` is dangerous: the reference is in the static Foundation's
# createTemporaryFile, behind `Data.write(options: .atomic)` (the CLI's `--output`).
SWIFT_BUILD := swift build -c release --static-swift-stdlib
BIN := .build/release
# The test and bench tools live in a virtual environment of the checkout's own: Debian's
# python3 refuses `pip install` into the system (PEP 668), and nothing leaks out of it.
TEST_VENV := .venv/test
PYTHON := $(TEST_VENV)/bin/python

.PHONY: run run-front openapi test unit-test unit-test-build unit-test-idle integration-test integration-embedded integration-distributed build deps python-deps test-system-deps bench fuzz clean nginx-site

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
	$(SWIFT_BUILD) --product progimage

## The whole stack in the foreground: nginx on 127.0.0.1:$PROGIMAGE_PORT (default 8080)
## plus one supervised instance per role. Ctrl-C or SIGTERM stops all of it.
run: build
	exec $(BIN)/progimage-dev run

## The front door of several boxes: nginx on 127.0.0.1:$PROGIMAGE_PORT in front of the
## boxes in PROGIMAGE_FRONT_UPSTREAMS (host:port,host:port), each a `make run` or a
## production install (docs/SCALING.md).
run-front: build
	exec $(BIN)/progimage-dev run-front

python-deps: $(TEST_VENV)/installed test-system-deps

test-system-deps:
	@for f in $(TEST_FILES); do [ -e $$f ] || missing=1; done; \
	if [ "$$missing" = 1 ]; then \
	  echo "progimage: installing Debian packages for the tests: $(TEST_APT_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(TEST_APT_PACKAGES); \
	fi

$(TEST_VENV)/installed: tests/integration/requirements.txt
	@python3 -m venv $(TEST_VENV) 2>/dev/null || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends python3-venv && \
	  python3 -m venv $(TEST_VENV); }
	$(PYTHON) -m pip install -q --disable-pip-version-check -r tests/integration/requirements.txt
	touch $@

## The unit tests, built optimized: their pixel references (every fast path against the long
## way, on many sizes) took 122 s unoptimized on 2 cores, 14 s optimized, for a build 47 s
## longer. In a scratch of their own: -enable-testing changes every module's flags, and
## sharing .build/release would recompile the stack's binaries at each switch. `swift test`
## (debug) runs the same tests.
## Only the test product and what it links (not the executables nor ArgumentParser: 70 s
## of the build on a loaded box).
UNIT_SCRATCH := .build/unit-tests
UNIT_BUILD := swift build --product progimagePackageTests -c release -Xswiftc -enable-testing --scratch-path $(UNIT_SCRATCH)
unit-test: unit-test-build
	swift test -c release -Xswiftc -enable-testing --scratch-path $(UNIT_SCRATCH) --skip-build
unit-test-build: deps
	$(UNIT_BUILD)

## The suite twice: embedded (SQLite + local disk) and distributed (PostgreSQL + a
## SeaweedFS bucket, both started by the suite itself), plus the cluster tests (two boxes
## behind the front door) that need the latter; the pixel-only modules run embedded only
## (tests/integration/conftest.py, PIXEL_ONLY_MODULES and the `pixels_only` mark), and so
## do the local cache's budget modules (LOCAL_CACHE_MODULES); the tests of how processes
## behave (the `processes_only` mark) run distributed only, to even out the two passes
## (side by side 9:06 and 8:57, where embedded had taken 11:03). The two passes run side by
## side, each on stacks, ports and folders of its own: one pass keeps about one core busy
## (its stacks wait on each other), and the two together took 12:02 where one after the
## other took 7:55 + 5:53, on 2 cores with a black-box tester loading them as well. make
## runs them (so Ctrl-C reaches both) and prints each one's output when it ends.
INTEGRATION_PYTEST := PROGIMAGE_TEST_COMMAND="$(CURDIR)/$(BIN)/progimage-dev run" $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration
integration-test: build python-deps
	@echo "progimage: the embedded and distributed passes run side by side; each one's output follows when it ends"
	$(MAKE) -j2 --output-sync=target integration-embedded integration-distributed
integration-embedded:
	$(INTEGRATION_PYTEST)
integration-distributed:
	PROGIMAGE_TEST_BACKENDS=distributed $(INTEGRATION_PYTEST)

## The stack's build, then the integration suite's two passes against the real stack with
## the unit tests (their build, then their run) beside them at the lowest priority, and the
## deployment suite (its own ports and folders; it mostly waits on the workers it starts).
## The two passes keep ~1.5 of the 2 cores busy (they wait on their stacks), and the
## unit-test build takes what they leave instead of running alone before them: a fresh
## clone's run went from 20 min 3 s to 16 min 53 s (the build 555 s at nice 19, done within
## the passes, which it slowed by ~1.5 min: the two cores share more than time). Two builds
## side by side, each at full priority, had taken longer than one after the other (413 s
## against 239 + 130 s).
test: build python-deps
	@echo "progimage: the embedded and distributed passes, the unit tests (at the lowest priority) and the deployment suite run side by side; each one's output follows when it ends"
	$(MAKE) -j4 --output-sync=target integration-embedded integration-distributed unit-test-idle deploy-test
unit-test-idle: deps
	nice -n 19 $(UNIT_BUILD)
	nice -n 19 swift test -c release -Xswiftc -enable-testing --scratch-path $(UNIT_SCRATCH) --skip-build

## The committed production nginx sites (a box's, and an example front door), regenerated from the code.
nginx-site: build
	$(BIN)/progimage-dev nginx-config --production > nginx/progimage.conf
	PROGIMAGE_FRONT_UPSTREAMS=box1.internal:80,box2.internal:80 \
	  $(BIN)/progimage-dev nginx-config --front > nginx/progimage-front.conf

## The OpenAPI document the api instance serves at /openapi.yaml, embedded from docs/openapi.yaml
## (a unit test fails when the two differ).
OPENAPI_SWIFT := Sources/ProgimageServer/Handlers/OpenAPIDocument.swift
openapi:
	{ echo '// Generated from docs/openapi.yaml by `make openapi`; do not edit by hand.'; \
	  echo '/// The OpenAPI document, served at `/openapi.yaml` by the api instance.'; \
	  echo 'enum OpenAPIDocument {'; echo '    static let yaml = #"""'; cat docs/openapi.yaml; echo '"""#'; echo '}'; \
	} > $(OPENAPI_SWIFT)

## libFuzzer over every decoder, seeded with the corpus's small files; FUZZ_SECONDS long.
## A crash, or two decodes of the same bytes that differ (glibc's M_PERTURB fills unwritten
## memory differently each time; the per-thread cache is off so that small chunks are
## filled too), stops the run. Only Swift code is instrumented: the C libraries are
## exercised, not guided. Linked with lld (gold crashes on the sanitizer runtime).
FUZZ_SECONDS ?= 300
FUZZ_SCRATCH := .build-fuzz
fuzz: deps
	swift build -c release --scratch-path $(FUZZ_SCRATCH) --product progimage-fuzz \
	  -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING -Xswiftc -use-ld=lld
	mkdir -p $(FUZZ_SCRATCH)/corpus $(FUZZ_SCRATCH)/findings
	find tests/corpus tests/fuzz-seeds -type f -size -64k ! -name '*.md' ! -name '*.json' ! -name '*.csv' \
	  -exec cp {} $(FUZZ_SCRATCH)/corpus/ \;
	GLIBC_TUNABLES=glibc.malloc.tcache_count=0 \
	  $(FUZZ_SCRATCH)/release/progimage-fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=4096 \
	  -artifact_prefix=$(FUZZ_SCRATCH)/findings/ $(FUZZ_SCRATCH)/corpus

bench: build
	$(SWIFT_BUILD) --product progimage-bench
	bench/run.sh

clean:
	rm -rf .build

## Installation on a Debian host (docs/DEPLOYMENT.md): `sudo make install`, then
## `systemd-sysusers && systemctl daemon-reload && systemctl enable --now progimage.target`.
## Everything goes under $(PREFIX) except configuration, which belongs in /etc: units in
## $(PREFIX)/lib/systemd/system (/usr/local/lib/systemd/system is on systemd's search path
## and is the administrator's; /lib/systemd/system is the package manager's).
PREFIX ?= /usr/local
DESTDIR ?=
UNIT_DIR := $(PREFIX)/lib/systemd/system
SYSTEMD_UNITS := progimage@.service progimage@.socket progimage@api.service.d/network.conf \
                 progimage.target progimage-prune.service progimage-prune.timer \
                 progimage-check.service progimage-check.timer progimage-replay-deletes.service
ENV_FILE := /etc/progimage/progimage.env
# Marks the keys `make install` generated: uninstall removes an env file that is the
# template plus this block, and keeps any other.
GENERATED_MARK := \# Generated by make install: the API key for writes, the key that signs URLs. Keep them secret.
NGINX_SITE := /etc/nginx/sites-available/progimage
INSTALLED_FILES := $(PREFIX)/bin/progimage-fcgi $(addprefix $(UNIT_DIR)/,$(SYSTEMD_UNITS)) \
                   $(PREFIX)/lib/sysusers.d/progimage.conf $(NGINX_SITE)

.PHONY: install install-distributed uninstall deploy-test

## The worker `make build` made (the Swift runtime linked in: no toolchain needed), the units (their
## ExecStart pointed at $(PREFIX)/bin), the user, the nginx site (generated from the env
## file as systemd reads it: upload limit, browser origins, metrics, presets) and, only if
## absent, the env file: it holds the administrator's keys and is never overwritten.
## The metrics folder is progimage's: the workers write their counters there. On a first
## install systemd hands the whole cache directory to progimage as it starts a worker; once
## the directory is progimage's it no longer looks inside, and a folder a later install
## made stayed root's.
install: build
	install -D -m 0755 $(BIN)/progimage-fcgi $(DESTDIR)$(PREFIX)/bin/progimage-fcgi
	for unit in $(SYSTEMD_UNITS); do \
	  install -d $(DESTDIR)$(UNIT_DIR)/$$(dirname $$unit) && \
	  sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' systemd/$$unit > $(DESTDIR)$(UNIT_DIR)/$$unit && \
	  chmod 0644 $(DESTDIR)$(UNIT_DIR)/$$unit || exit 1; \
	done
	install -D -m 0644 systemd/progimage.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/progimage.conf
	if [ -e $(DESTDIR)$(ENV_FILE) ]; then echo "progimage: keeping $(DESTDIR)$(ENV_FILE)"; \
	else install -D -m 0640 systemd/progimage.env $(DESTDIR)$(ENV_FILE) && \
	  { echo; echo "$(GENERATED_MARK)"; \
	    echo "PROGIMAGE_API_KEY=$$(head -c 32 /dev/urandom | basenc --base64url | tr -d =)"; \
	    echo "PROGIMAGE_SIGNING_KEY=$$(head -c 32 /dev/urandom | basenc --base64url | tr -d =)"; \
	  } >> $(DESTDIR)$(ENV_FILE) && \
	  echo "progimage: generated PROGIMAGE_API_KEY and PROGIMAGE_SIGNING_KEY in $(DESTDIR)$(ENV_FILE) (mode 0640)"; fi
	install -d $(DESTDIR)$(dir $(NGINX_SITE))
	metrics=$$(sed -n 's/^[[:space:]]*PROGIMAGE_METRICS_PORT=\([0-9]*\).*/\1/p' $(DESTDIR)$(ENV_FILE) | tail -n 1); \
	if [ -n "$$metrics" ]; then install -d -m 0750 $(DESTDIR)/var/cache/progimage/.metrics; fi; \
	if [ -n "$$metrics" ] && [ -z "$(DESTDIR)" ] && id progimage >/dev/null 2>&1; then \
	  chown progimage:progimage /var/cache/progimage/.metrics; fi
	env -i $(BIN)/progimage-dev nginx-config --production --environment-file $(DESTDIR)$(ENV_FILE) \
	  > $(DESTDIR)$(NGINX_SITE).new && mv $(DESTDIR)$(NGINX_SITE).new $(DESTDIR)$(NGINX_SITE)

## The distributed mode's drop-ins (docs/SCALING.md), into /etc/systemd/system: the roles,
## the check and the boot replay may reach STORE_ADDRESSES (the database's and the object
## store's IP addresses or networks, as IPAddressAllow= takes them) and nothing else; prune
## may remove local copies of originals. Remove those four files to go back to one box.
DISTRIBUTED_NETWORK_UNITS := progimage@.service progimage-check.service progimage-replay-deletes.service
install-distributed:
	@echo '$(STORE_ADDRESSES)' | grep -Eq '^[0-9A-Fa-f:./ ]*[0-9A-Fa-f][0-9A-Fa-f:./ ]*$$' || { \
	  echo "make install-distributed: set STORE_ADDRESSES to the database's and the object store's IP addresses," \
	       "e.g. STORE_ADDRESSES=\"10.0.0.5 10.0.0.6\"" >&2; exit 2; }
	for unit in $(DISTRIBUTED_NETWORK_UNITS); do \
	  install -d $(DESTDIR)/etc/systemd/system/$$unit.d && \
	  sed 's|@STORE_ADDRESSES@|$(STORE_ADDRESSES)|' systemd/distributed/database-and-bucket.conf \
	    > $(DESTDIR)/etc/systemd/system/$$unit.d/database-and-bucket.conf || exit 1; \
	done
	install -D -m 0644 systemd/distributed/local-copies.conf $(DESTDIR)/etc/systemd/system/progimage-prune.service.d/local-copies.conf

## Removes what install put there; keeps an edited env file, and never touches the data
## (/var/lib/progimage) or the cache (/var/cache/progimage).
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))
	rmdir $(DESTDIR)$(UNIT_DIR)/progimage@api.service.d 2>/dev/null || true
	if sed '/^# Generated by make install:/,$$d' $(DESTDIR)$(ENV_FILE) 2>/dev/null | sed '$${/^$$/d}' | cmp -s systemd/progimage.env - \
	  && [ "$$(sed -n '/^# Generated by make install:/,$$p' $(DESTDIR)$(ENV_FILE) | grep -cv '^#')" = 2 ]; then \
	  rm -f $(DESTDIR)$(ENV_FILE) && rmdir $(DESTDIR)$(dir $(ENV_FILE)) 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(ENV_FILE) ]; then echo "progimage: keeping edited $(DESTDIR)$(ENV_FILE)"; fi
	if [ -L $(DESTDIR)/etc/nginx/sites-enabled/progimage ]; then \
	  echo "progimage: remove /etc/nginx/sites-enabled/progimage and reload nginx"; fi

## The deployment suite (tests/deploy): `make install` into a temporary root, the units
## checked by systemd-analyze, the installed workers started as their units say behind the
## production site. Needs systemd's tools (package systemd), not a running systemd.
deploy-test: build python-deps
	@command -v systemd-analyze >/dev/null && command -v systemd-socket-activate >/dev/null || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends systemd; }
	$(PYTHON) -m pytest -q tests/deploy
