# The kit's front door. Every target installs what it needs first, so on a fresh clone
# `make report` or `make test` works as the first command typed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DATA   ?=
PARAMS ?=

# Use the project's kernel (not a user-wide one) and keep Jupyter quiet and deterministic.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export PYTHONHASHSEED := 0
export MPLBACKEND := module://matplotlib_inline.backend_inline

.PHONY: setup report test lab data notebooks bench lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

## Run every notebook on the bundled shop (or DATA=dir; PARAMS="NAME=VALUE ..." sets notebook parameters) and write reports/index.html
report: setup
	@$(BIN)/python -m helpers.report $(if $(DATA),--data "$(DATA)") $(foreach p,$(PARAMS),--param "$(p)")

## Unit tests, docstring examples and nbval (strict) over the committed notebooks
test: setup
	$(BIN)/python -m pytest --nbval --nbval-sanitize-with notebooks/sanitize.cfg tests src/helpers notebooks

## JupyterLab on localhost
lab: setup
	$(BIN)/jupyter lab --ip 127.0.0.1 --no-browser --notebook-dir notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

## Regenerate the bundled shop in data/ from the simulator (then: make notebooks)
data: setup
	$(BIN)/python -m helpers.simulate --users 25000 --seed 7 --out data

## Re-execute the committed notebooks in place after changing helpers or data
notebooks: setup
	$(BIN)/python -m helpers.report --refresh

## Scale benchmarks: 10M events in memory, 100M from Parquet (shops cached in benchmarks/cache)
bench: setup
	$(BIN)/python benchmarks/run.py $(if $(SIZES),--sizes $(SIZES))

## Re-pin exact versions after a deliberate upgrade of pyproject.toml ranges
lock: setup
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^helpers' > constraints.txt

clean:
	rm -rf reports .pytest_cache
