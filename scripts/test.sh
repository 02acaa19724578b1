#!/usr/bin/env bash
# The test command: fast suite (slow tests are marked and skipped unless GEOBENCH_SLOW=1).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
. .venv/bin/activate
export GEOBENCH_DATA="${GEOBENCH_DATA:-$(cd .. && pwd)/shared/data}"
MARK="not slow"
[ "${GEOBENCH_SLOW:-0}" = "1" ] && MARK=""
python -m pytest -q -m "$MARK" -p no:cacheprovider "$@"
