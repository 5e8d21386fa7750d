# The two commands a newcomer runs are `make demo` and `make test`; both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := $(shell grep -v '^\#' apt-packages.txt)

.PHONY: venv sysdeps demo test test-fast lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Installs the Debian packages that are missing (root or sudo); prints the command otherwise.
sysdeps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:" $$missing; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null \
	    || { echo "could not install: $$missing (run: sudo apt-get install $$missing)"; exit 1; }; \
	fi

# On a desktop the control panel opens with the pilot driving; without a screen the lap runs under Xvfb and
# leaves a video and a summary in runs/demo.
demo: sysdeps venv
	@if [ -n "$$DISPLAY" ]; then $(VENV)/bin/pixelpilot demo --panel; else $(VENV)/bin/pixelpilot demo; fi

# ruff, the layers' import contracts (pyproject.toml [tool.importlinter]) and the type checker
lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy

test: sysdeps venv lint
	$(PY) -m pytest

# The tests that need no screen, no learning and no long run: a minute's check while working. `make test` runs all.
test-fast: venv
	$(PY) -m pytest -m "not screen and not learning and not slow"

bench: sysdeps venv
	$(PY) benchmarks/screen_loop.py
	$(PY) benchmarks/neonrace_speed.py
	$(PY) benchmarks/digits_accuracy.py
	$(PY) benchmarks/digits_neonrace.py
	$(PY) benchmarks/frame_storage.py
	$(PY) benchmarks/neonrace_training.py
	$(PY) benchmarks/neonrace_pilot.py
	$(PY) benchmarks/neonrace_references.py
	$(PY) benchmarks/neonrace_learning.py --sb3 --continue-to 2000000  # hours: resumable, a finished run is read back from runs/bench
	$(PY) benchmarks/neonrace_learning.py --recipes PPO  # PPO's section, the same steps and tracks
	$(PY) benchmarks/neonrace_learning.py --recipes 'DQN (Double, Dueling, prioritised)' 'DQfD, 15 min of the expert'  # hours: about 75 steps/s
	$(PY) benchmarks/cloning.py  # about an hour: 30 min of recorded driving, clones, A3C from clone vs scratch
	$(PY) benchmarks/cloning.py --dagger  # about 40 min: DAgger with the scripted expert, 5 rounds
	$(PY) benchmarks/cloning_variants.py  # about 40 min: cloning options on 10 minutes of the expert's driving
	$(PY) benchmarks/toplap_clone.py  # about 80 min: TopLap (north and chase views), cloned from 10 minutes of its window each
	$(PY) benchmarks/carracing_clone.py  # about an hour: gymnasium's CarRacing, cloned from 10 minutes of its window
	$(PY) benchmarks/carracing_dagger.py  # about 40 min: DAgger through the CarRacing window, the pursuit driver labelling
	$(PY) benchmarks/neonrace_screen.py  # about 20 min: A3C through the screen from the clone, 2 virtual desktops
	$(PY) benchmarks/neonrace_screen_recipe.py  # about an hour: the recipe through the screen, from scratch and the pilot
	$(PY) benchmarks/gym_bench.py  # about two hours: every learner on its classic test beds, next to SB3's (pixelpilot bench gym)
	$(PY) benchmarks/double_dqn.py  # about 5 min: natural and Double DQN's action values on Pendulum with 11 torques
	$(PY) benchmarks/reliability.py  # about 15 min: faults injected into each kind of process (docs/reliability.md)
	$(PY) benchmarks/ray_scaling.py  # about 10 min: A3C's workers as Ray actors against local processes, and the driver's ceiling

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
