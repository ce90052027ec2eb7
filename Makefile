# Two set-up commands work on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow test-gpu lint bench clean venv pictures

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned to the local CPU wheel, so nothing pulls a CUDA build
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/lcn experiment

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy src

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

test-gpu: $(STAMP)
	$(BIN)/python -m pytest -q -m gpu

bench: $(STAMP)
	@set -e; for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f; done

# the README's pictures (docs/plots.md); lcn plot replaces only files it wrote itself
pictures: $(STAMP)
	$(BIN)/lcn plot space --k 3,2 --s 2,1 --resolution 64 --size 860x700 --out docs/pictures/space-umbrella.png
	$(BIN)/lcn plot roots --k 3,3,2 --s 2,2,1 --filter "2,1,3,2,0,1,-17,-8,-32,-20,20" --size 900x860 --out docs/pictures/roots.png
	$(BIN)/lcn plot flow --k 2,2 --s 2,1 --seed 1 --runs 16 --size 1440x540 --out docs/pictures/flow.png

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
