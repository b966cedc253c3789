#!/usr/bin/env bash
# Fresh machine -> full check: creates .venv, installs the project and the test tools, runs the
# lint steps (ruff, ruff format, mypy, import-linter), then pytest offline. Changes nothing outside
# this folder (no system packages): the browser test runs where Debian's chromium is installed
# (`apt-get install chromium`, as .ci/run does) and is skipped with a one-line reason elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
# PIP_NO_CACHE_DIR: the wheels are installed once into .venv; a second copy in ~/.cache only takes disk.
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q -r requirements.txt -r requirements-dev.txt
# The package itself, as a user installs it (its dependencies held to the tested pins): the CLI runs
# from it anywhere (`.venv/bin/gfpgan`), and a test checks the installed files (package data).
sed -E 's/\[[^]]*\]//' requirements.txt > .venv/constraints.txt  # pip takes no extras in a constraint
.venv/bin/pip install -q -c .venv/constraints.txt .
# One OpenCV: an older environment may still hold opencv-python-headless, which writes the same cv2/
# folder; remove it and restore opencv-python's files.
if .venv/bin/pip show -q opencv-python-headless >/dev/null 2>&1; then
  .venv/bin/pip uninstall -q -y opencv-python-headless
  .venv/bin/pip install -q --force-reinstall --no-deps "$(grep '^opencv-python==' requirements.txt)"
fi

# axe-core (npm, pinned in package-lock.json) audits the page's accessibility in the browser test;
# without npm that test is skipped with a one-line reason, like the browser test without chromium
if command -v npm >/dev/null 2>&1; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null || echo "warning: npm ci failed; the accessibility audit will be skipped"
fi

echo "lint: ruff, ruff format, mypy, import-linter"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
rm -f gfpgan_core/web/*.pyi  # Gradio's stub of our component subclasses: mypy checks the code itself
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null

.venv/bin/python -m pytest -q -rs "$@"
