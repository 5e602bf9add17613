# Two entry points, each doing all of its own set-up in .venv:
#   make lab    install the package with JupyterLab and open the class's working copy of the course
#               (my-course/: the student edition, copied on first run, never overwritten, git-ignored)
#   make test   install the package with its test extra and run the whole test suite
#
# TORCH chooses the torch build installed first (default: the CPU build 2.13.0, which these
# machines keep on disk). Elsewhere pass e.g. TORCH="torch==2.13.0" and
# TORCH_PIP_ARGS="--index-url <your CPU or CUDA wheel index>".

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=
LAB_ARGS ?= --ip=127.0.0.1
PYTEST_ARGS ?=
COURSE ?= my-course

BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
NO_DISPLAY := $(if $(DISPLAY)$(WAYLAND_DISPLAY),,--no-browser)
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab tutorials test browser zoo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: | $(BIN)/python
	$(PIP) install $(TORCH_PIP_ARGS) "$(TORCH)"
	touch $@

# memelite's Tomtom is numba code that compiles on first call (about a minute on 2 cores);
# compile it once here, cached on disk, so that no class waits for it.
WARM_UP := $(BIN)/python -c "from xai_widgets.methods.tomtom import warm_up; warm_up()"

$(VENV)/.lab: pyproject.toml $(VENV)/.torch
	$(PIP) install -e ".[lab]"
	$(WARM_UP)
	touch $@

# bpnet-lite (tested 1.1.0) is only a test oracle (the original BPNet model); --no-deps because
# its declared dependencies pull MACS3 and bam2bw, which build from source and are never used here
BPNET_LITE ?= bpnet-lite>=1.1,<1.2

$(VENV)/.test: pyproject.toml $(VENV)/.torch
	$(PIP) install -e ".[test]"
	$(PIP) install --no-deps "$(BPNET_LITE)"
	$(WARM_UP)
	touch $@

lab: $(VENV)/.lab
	$(BIN)/python scripts/tutorials/working_copy.py $(COURSE)
	$(BIN)/jupyter lab --notebook-dir=$(COURSE) $(LAB_ARGS) $(NO_DISPLAY) $(AS_ROOT)

# Rebuild both editions of every tutorial from tutorials/src/ and execute the teacher editions
# (several minutes on 2 cores); `python scripts/tutorials/build.py --execute 04` does one.
tutorials: $(VENV)/.test
	$(BIN)/python scripts/tutorials/build.py --execute

# Debian's Chromium for the browser tests and figure export (both through Playwright, which never
# downloads a browser here): installed with apt-get where we can (root); elsewhere the browser
# tests skip with a message (and fail under CI=true) and figure export says what is missing.
browser:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "note: chromium missing and not root; browser tests will skip (apt-get install chromium)"; fi

test: $(VENV)/.test browser
	$(BIN)/python -m pytest tests $(wildcard tutorials/[0-9][0-9]_*.ipynb) --nbval-lax --nbval-current-env \
		--nbval-sanitize-with tutorials/sanitize.cfg $(PYTEST_ARGS)

# Retrain every shipped model and rewrite its weights and card (about 15 minutes on 2 cores).
zoo: $(VENV)/.test
	$(BIN)/python scripts/train_zoo.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
