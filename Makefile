# The two set-up commands (see README): `make run` and `make test`. Both create the virtualenv and
# install the pinned requirements on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test bench deps browser

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

# Front-end libraries (bpmn-js, dmn-js, ECharts, htmx) from npm, exactly as package-lock.json pins them,
# copied into api/static/vendor (git-ignored) by the build step. Served by the app itself: no CDN.
VENDOR := api/static/vendor/manifest.json
$(VENDOR): package.json package-lock.json api/static/build.mjs
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build

deps: $(BIN)/.installed $(VENDOR)

# Migrate the embedded SQLite database, load every city's rule set, add Nantong's demo users and
# sample tickets (once),
# then start the scheduler process and the web app.
run: deps
	$(FLASK) db upgrade
	$(FLASK) city load
	$(FLASK) demo load --city nantong
	@echo "Open http://$(HOST):$(PORT)/  (demo accounts: see README, password 'demo')"
	@bash -c 'set -m; $(FLASK) scheduler & SCHED=$$!; trap "kill $$SCHED 2>/dev/null" EXIT INT TERM; \
	  $(FLASK) run --host $(HOST) --port $(PORT)'

# The whole suite. PostgreSQL tests run when HOTLINE_TEST_POSTGRES_URL is set (.ci/run sets it)
# and are skipped with a visible reason otherwise.
test: deps browser
	$(BIN)/python -m pytest -q

# Browser tests drive Debian's Chromium (never a downloaded browser); without it they skip. A CJK font
# makes the screenshots in test-artifacts/ readable.
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi wenquanyi; } || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; } || \
	  echo "chromium is not installed: browser tests will be skipped (apt-get install chromium fonts-wqy-microhei)"

bench: deps
	$(BIN)/python -m bench.throughput
