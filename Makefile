# Two commands do all the set-up on a fresh Debian machine:
#   make demo   a small cluster in network namespaces (root) or on loopback, with a failure and recovery
#   make test   the test suite
# Both create .venv and install the project into it first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: all venv bytecode test test-fast demo bench clean

all: test

$(STAMP): pyproject.toml
	@if ! $(PYTHON) -m venv --help >/dev/null 2>&1 || ! $(PYTHON) -c 'import ensurepip' >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; \
	  else echo "need python3-venv: sudo apt-get install python3-venv" >&2; exit 1; fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# compat: the editable install is one path line in a .pth; the default mode installs an
	@# import hook whose own imports (pathlib, re, ...) cost every `hb` command 10-20 ms at start
	$(PY) -m pip install -q -e '.[test]' --config-settings editable_mode=compat 2>/dev/null \
	  || $(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# pip's `hb` script is replaced by a faster-starting one (core/entryscript.py says why)
HB_SCRIPT_STAMP := $(VENV)/.hb-script-stamp
$(HB_SCRIPT_STAMP): $(STAMP) core/entryscript.py core/cli.py
	@$(PY) -m core.entryscript $(VENV)/bin/hb
	@touch $@

venv: $(STAMP) $(HB_SCRIPT_STAMP)

# every daemon forked from the launcher shares what the launcher imported; without bytecode on
# disk each start compiles the sources again (slower, and the compiler's garbage stays in memory).
# compileall writes what is missing or stale, whatever PYTHONDONTWRITEBYTECODE says.
# The modules of `hb simulate` and `hb haresources2cib` are also compiled into one file that
# their start-up loads at once (core/codebundle.py: 4 ms of a 55 ms run on a small cluster).
PACKAGES = core messaging ccm lrmd stonithd crmd pengine tengine logd agents tools lab sim
bytecode: $(STAMP) $(HB_SCRIPT_STAMP)
	@$(PY) -m compileall -q -j 0 $(PACKAGES) >/dev/null
	@$(PY) -m core.codebundle

test: bytecode
	$(PY) -m pytest -q -ra --durations=15

test-fast: bytecode
	$(PY) -m pytest -q -m "not lab and not slow"

demo: bytecode
	$(VENV)/bin/hb demo

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
