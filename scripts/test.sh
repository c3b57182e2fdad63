#!/usr/bin/env bash
# Install PolicyQA into .venv from the repo's own files and run the test suite. Needs Python 3.11
# and nothing outside the repository: tests that read the shared eval sets (../shared/eval-data)
# skip with a one-line reason when they are absent. Debian's chromium, for the browser test, is
# installed when missing and this runs as root; otherwise that test skips with its reason.
# Extra arguments go to pytest (e.g. -m "not slow" for the quick loop).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
            || echo "chromium could not be installed: the browser test will skip" >&2
    else
        echo "chromium missing and not root: the browser test will skip" >&2
    fi
fi

bash scripts/install.sh
.venv/bin/python -m pytest "$@"
