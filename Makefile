# Quick start: `make demo` then `make test`. Needs only python3; uv is installed when missing.
PYTHON ?= python3
UV := $(PYTHON) -m uv
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: setup demo test lint bench bench-stages clean sign-policies browser

setup:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@$(UV) sync --frozen --quiet --compile-bytecode

demo: setup
	$(UV) run mcn demo

test: lint browser
	MCN_REQUIRE_BROWSER=1 $(UV) run pytest -n auto --dist worksteal

# Headless Chromium (Debian's package) for the tests that open the HTML reports; installed when
# missing. `make test` sets MCN_REQUIRE_BROWSER=1, so a missing browser fails those tests
# rather than skipping them.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { echo "installing chromium with apt-get, for the report tests"; \
	    $(SUDO) apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { $(SUDO) apt-get update -qq >/dev/null 2>&1 && $(SUDO) apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	    echo "warning: could not install chromium (Debian: apt-get install chromium)"; }

# Every approver key in APPROVER_KEYS signs every policy whose agreement names it (two-party
# approval: each party's approvers sign). Private keys never live in the repository.
APPROVER_KEYS ?= $(HOME)/.mcn-approver
sign-policies: setup
	@for key in $(APPROVER_KEYS)/*.key; do $(UV) run mcn policy sign --key "$$key" --all || exit 1; done
	$(UV) run mcn policy check

# ruff (lint and format) on everything, mypy on the pure packages (schemas, governance,
# transforms: pyproject.toml [tool.mypy]); `make test` runs these first.
lint: setup
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

# Long: a million people, outside CI. See docs/benchmarks.md.
bench: setup
	$(UV) run python benchmarks/pipeline_scale.py --people 1000000

# Every stage of a night, one by one, at 100k and 1M people (docs/benchmarks.md, docs/scaling.md).
bench-stages: setup
	$(UV) run python benchmarks/stages.py --people 100000 1000000

clean:
	rm -rf data .mcn
