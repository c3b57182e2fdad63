#!/usr/bin/env bash
# Create .venv (Python 3.11) and install PolicyQA with its test extras, from the repo's own files.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
# torch first, pinned: the CPU build lies on this machine's disk; an unpinned torch pulled in by
# sentence-transformers would download a multi-GB CUDA build.
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e ".[test]"
