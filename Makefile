# The README's first two commands: `make demo` and `make test`. Both create .venv and install the
# project (pinned by constraints.txt) when it is missing or out of date.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= runs/demo

# The HTML report's browser test opens the report in headless Chromium (Debian packages). `make test`
# installs them when missing, as root with apt-get (CI's fresh Debian machine); elsewhere it says so and the
# test skips with the same advice.
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver

.PHONY: install demo test test-e2e browser bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,mlflow,ray]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/caedoctor demo --out $(DEMO_OUT) --force

browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CHROMEDRIVER) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and chromium-driver for the report's browser test (apt-get)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq chromium chromium-driver; \
	  else \
	    echo "note: $(CHROMIUM) or $(CHROMEDRIVER) missing and apt-get as root is not available:" \
	         "the browser test will skip (apt-get install chromium chromium-driver)"; \
	  fi; \
	fi

# lint-imports checks the layer contract in pyproject.toml ([tool.importlinter]) before any test runs.
# `make test` is the fast suite (under 8 minutes on 2 cores), in TEST_WORKERS pytest-xdist processes: most
# tests wait on a subprocess, a file or Python rather than on both cores, so two workers halve its time on a
# 2-core machine (534 s -> 316 s measured); TEST_WORKERS=0 runs it in one process. The slow end-to-end checks
# (marked `e2e`: doc pages and the notebook executed, whole CLI runs in real processes) are `make test-e2e`.
# CI runs both.
TEST_WORKERS ?= 2

test: $(STAMP) browser
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -m "not e2e" -n $(TEST_WORKERS)

test-e2e: $(STAMP) browser
	$(PY) -m pytest -q -m e2e

clean:
	rm -rf $(VENV) runs .pytest_cache
