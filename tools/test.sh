#!/usr/bin/env bash
# The whole test suite: every notebook (slow and gpu cells skipped) and pytest.
# Pass flags to run more, e.g. `bash tools/test.sh --flags "slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin; [ -x "$BIN/nbdev_test" ] || BIN="$(dirname "$(command -v nbdev_test)")"
export MPLBACKEND=Agg PYTHONUNBUFFERED=1
t0=$(date +%s)
"$BIN/nbdev_test" --n_workers 2 --timing "$@"
echo "nbdev_test: $(( $(date +%s) - t0 )) s"
t1=$(date +%s)
"$BIN/python" -m pytest -q -p no:cacheprovider tests
echo "pytest: $(( $(date +%s) - t1 )) s"
