#!/usr/bin/env bash
# Creates the project's Python virtual environment in .venv (Jupyter
# clients, numpy and scipy as test oracles) and installs the pinned
# requirements, again only when requirements.txt has changed.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp="$venv/.requirements.sha256"
wanted=$(sha256sum requirements.txt | cut -d' ' -f1)

if [ ! -x "$venv/bin/python" ]; then
  echo "creating the Python environment in $venv" >&2
  python3 -m venv "$venv"
fi

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "installing the pinned Python packages (requirements.txt)" >&2
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r requirements.txt
  echo "$wanted" > "$stamp"
fi
