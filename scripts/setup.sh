#!/usr/bin/env bash
# Create .venv and install geobench (the distribution geobench-locenc, from this checkout) with the
# CPU build of torch.
#   GEOBENCH_TORCH=cpu    (default) on Linux, torch comes from PyTorch's CPU wheel index, never the
#                         multi-GB CUDA build; where that index is unreachable, from pip's configured
#                         indexes if they offer a CPU build (checked before downloading).
#   GEOBENCH_TORCH=cuda   torch from pip's configured indexes: on Linux, PyPI's CUDA build.
#   GEOBENCH_TORCH_INDEX  the CPU index (default https://download.pytorch.org/whl/cpu), e.g. a mirror.
# On macOS and Windows PyPI's torch is already CPU (MPS on Apple silicon); nothing changes there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
TORCH="torch==2.13.0"
WANT="${GEOBENCH_TORCH:-cpu}"
CPU_INDEX="${GEOBENCH_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
case "$WANT" in
  cpu|cuda) ;;
  *) echo "setup.sh: GEOBENCH_TORCH must be cpu or cuda, not '$WANT'" >&2; exit 2 ;;
esac
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python  # the venv's python directly: `activate` holds absolute paths (wrong in a moved venv)
CHECK="$VPY scripts/setup_checks.py"
"$VPY" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# torch first, pinned, so that the `torch>=2.3` requirement below installs nothing more.
if ! "$VPY" -c "import torch" 2>/dev/null; then
  INDEX=()
  if [ "$WANT" = cpu ] && [ "$(uname -s)" = Linux ]; then
    if $CHECK reachable "$CPU_INDEX"; then
      INDEX=(--index-url "$CPU_INDEX")
    else
      $CHECK plan "$TORCH"  # quiet when pip as configured gives a CPU build (e.g. a local wheel store)
    fi
  fi
  "$VPY" -m pip install -q ${INDEX[@]+"${INDEX[@]}"} "$TORCH"
fi
$CHECK torch "$WANT"  # prints the version and build; fails if a GPU build is there when CPU was asked for
# This project was once installed as the distribution `geobench`; that name on PyPI is GEO-Bench.
OLD="$($CHECK olddist)"  # fails, with the fix, if GEO-Bench is installed here
if [ -n "$OLD" ]; then
  "$VPY" -m pip uninstall -q -y geobench
fi
"$VPY" -m pip install -q -e ".[test]"
"$VPY" -c "import geobench; print('geobench', geobench.__version__, '(distribution', geobench.DISTRIBUTION + ')')"
