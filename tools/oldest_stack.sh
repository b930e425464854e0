#!/usr/bin/env bash
# One-time check, not part of CI (it downloads several GB): the library tests on the oldest releases settings.ini
# allows. Every runtime requirement is pinned to its floor (`>=X` becomes `==X`), the other packages resolve to
# their newest compatible releases, the wheel of this checkout is installed without dependencies, `pip check` must be
# clean, and pytest runs the library tests (-m "not dev") from outside the checkout.
#     bash tools/oldest_stack.sh [DIR]        (default: /tmp/mfb-oldest)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=${1:-/tmp/mfb-oldest}
rm -rf "$D"; mkdir -p "$D"
python3 - "$ROOT/settings.ini" > "$D/floors.txt" <<'PY'
import configparser, shlex, sys
cfg = configparser.ConfigParser(); cfg.read(sys.argv[1])
for r in shlex.split(cfg['DEFAULT']['requirements']): print(r.replace('>=', '=='))
PY
t0=$(date +%s)
python3 -m venv "$D/venv"
"$D/venv/bin/pip" install -q --only-binary=:all: -c "$D/floors.txt" $(sed 's/==.*//' "$D/floors.txt") pytest
"$D/venv/bin/pip" wheel -q --no-deps -w "$D/dist" "$ROOT"
"$D/venv/bin/pip" install -q --no-deps "$D"/dist/mac_fame_be-*.whl
"$D/venv/bin/pip" check
echo "install: $(( $(date +%s) - t0 )) s"
echo "versions: $("$D/venv/bin/python" "$ROOT/tools/versions.py")"
cd "$D" && t1=$(date +%s)
OMP_NUM_THREADS=1 MPLBACKEND=Agg "$D/venv/bin/python" -m pytest -q -p no:cacheprovider -m "not dev" "$ROOT/tests"
echo "pytest: $(( $(date +%s) - t1 )) s"
