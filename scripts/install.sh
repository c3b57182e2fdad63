#!/usr/bin/env bash
# Create .venv (Python 3.11) and install PolicyQA with its test extras, from the repo's own files.
# As root on Debian it also installs antiword, which reads legacy Word (.doc) files; without it a
# .doc fails with the reason `unsupported` and a hint.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v antiword >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq antiword >/dev/null \
        || echo "antiword could not be installed: .doc files will be refused" >&2
fi

PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
# torch first, pinned: the CPU build lies on this machine's disk; an unpinned torch pulled in by
# sentence-transformers would download a multi-GB CUDA build.
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e ".[test]"
