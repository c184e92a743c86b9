# The two commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv run test bench loadtest lint messages clean-var

venv: $(STAMP)

# Reinstall only when the pinned dependencies change.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: venv
	$(PY) -m edc.run

# The pure clinical core runs under coverage (line and branch, at least 95 %); the rest without the
# tracer, which would only slow it down. Both in parallel (pytest-xdist): one worker per CPU unless
# TEST_WORKERS says otherwise (a number, or 0 for none); tests grouped with xdist_group stay together.
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS) --dist loadgroup

test: venv
	$(PY) -m pytest $(XDIST) tests/clinical --cov=edc/clinical --cov-branch --cov-report=term:skip-covered --cov-fail-under=95
	$(PY) -m pytest $(XDIST) --durations=15 --ignore=tests/clinical

bench: venv
	$(PY) -m edc.bench

# 20 simulated users of every role against gunicorn with the production settings, then a saturation
# ramp; figures merged into var/bench.json (README, "Serving load"). LOADTEST_SECONDS=10 for a quick look.
loadtest: venv
	$(PY) -m edc.loadtest

# Mutation testing of edc/clinical (slow: run after changing a rule; see README, "Mutation testing").
.PHONY: mutate
mutate: venv
	$(PY) tools/mutate.py

lint: venv
	$(VENV)/bin/ruff check .

messages: venv
	cd $(CURDIR) && $(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore '.venv/*' --ignore 'var/*' && $(PY) manage.py compilemessages --ignore '.venv/*'
