#!/usr/bin/env bash
# Install PolicyQA into .venv from the repo's own files and run the test suite. Needs Python 3.11
# and nothing outside the repository: tests that read the shared eval sets (../shared/eval-data)
# skip with a one-line reason when they are absent. Debian's chromium (the browser test) and a
# Chinese font (fonts-wqy-microhei: the OCR tests render their own scans) are installed when
# missing and this runs as root; otherwise those tests skip with their reason.
# Extra arguments go to pytest (e.g. -m "not slow" for the quick loop).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
            || echo "${missing[*]} could not be installed: their tests will skip" >&2
    else
        echo "${missing[*]} missing and not root: their tests will skip" >&2
    fi
fi

bash scripts/install.sh
.venv/bin/python -m pytest "$@"
