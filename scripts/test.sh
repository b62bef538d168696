#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit, integration, property tests),
# then the end-to-end suite in tests/, where real Jupyter clients drive the
# real kernel against the real object server on loopback. The suite starts
# the servers it needs itself, on free ports, with throw-away data folders.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/python-env.sh

echo "== cargo test (workspace)" >&2
cargo build --workspace --bins
cargo test --workspace

echo "== end-to-end suite (pytest)" >&2
status=0
.venv/bin/python -m pytest tests -q -p no:cacheprovider || status=$?
# pytest answers 5 when it collected no test: nothing failed.
if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
  exit "$status"
fi
