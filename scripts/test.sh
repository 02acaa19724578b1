#!/usr/bin/env bash
# The test command: fast suite (slow tests are marked and skipped unless GEOBENCH_SLOW=1).
# Data: the folder GEOBENCH_DATA if set, else the mirror ../shared/data, else the declared files,
# fetched once from their public sources into the geobench cache (GEOBENCH_CACHE, default
# ~/.cache/geobench). Offline and without a mirror it stops with one message.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
VPY=.venv/bin/python  # not `activate`: its paths are wrong in a moved venv
export PATH="$PWD/.venv/bin:$PATH"  # tests that start `geobench` or `python` get the venv's
if [ -n "${GEOBENCH_DATA:-}" ]; then
  if [ ! -d "$GEOBENCH_DATA" ]; then
    echo "test.sh: GEOBENCH_DATA=$GEOBENCH_DATA is not a folder. Point it at the data mirror, or unset it." >&2
    exit 2
  fi
elif [ -d ../shared/data ]; then
  GEOBENCH_DATA="$(cd ../shared/data && pwd)"
  export GEOBENCH_DATA
else
  rc=0
  "$VPY" scripts/test_data.py || rc=$?  # probes the sources first: one message and exit 1 when offline
  if [ "$rc" = 3 ]; then
    if ! PYTHONUNBUFFERED=1 "$VPY" -m geobench data fetch --all; then
      echo "test.sh: fetching the test data failed (see above); no tests were run. Set GEOBENCH_DATA to a" \
           "mirror folder holding the declared files, or retry online." >&2
      exit 1
    fi
  elif [ "$rc" != 0 ]; then
    exit 1
  fi
  GEOBENCH_DATA="$("$VPY" -c 'from geobench.cache import cache_root; print(cache_root() / "raw")')"
  export GEOBENCH_DATA
fi
MARK="not slow"
[ "${GEOBENCH_SLOW:-0}" = "1" ] && MARK=""
"$VPY" -m pytest -q -m "$MARK" -p no:cacheprovider "$@"
