#!/usr/bin/env bash
# Create .venv and install geobench with the CPU build of torch (never the multi-GB CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# CPU torch first, pinned, so that the `torch>=2.3` requirement below installs nothing more.
# The CPU build comes from the local wheel store configured for pip here; on other machines
# point pip at PyTorch's CPU wheel index (PIP_EXTRA_INDEX_URL, see README) to avoid the CUDA build.
if ! python -c "import torch" 2>/dev/null; then
  python -m pip install -q "torch==2.13.0"
fi
python -m pip install -q -e ".[test]"
python -c "import geobench, torch; print('geobench', geobench.__version__, 'torch', torch.__version__)"
