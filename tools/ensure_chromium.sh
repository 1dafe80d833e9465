#!/usr/bin/env bash
# Make sure a headless Chromium is available for the browser test of the built book
# (tests/test_site_browser.py).  Prints the browser's path and exits 0 when one is found or
# could be installed; exits 1 with a reason otherwise, and the test then skips with that reason.
#
# Order: $LSTM_COURSE_CHROMIUM, then chromium / chromium-browser / google-chrome on PATH, then
# Debian's `chromium` package installed with apt-get (only when running as root, or with
# password-less sudo).  Never downloads a browser any other way.
set -uo pipefail

find_browser() {
    if [[ -n "${LSTM_COURSE_CHROMIUM:-}" && -x "${LSTM_COURSE_CHROMIUM}" ]]; then
        echo "${LSTM_COURSE_CHROMIUM}"; return 0
    fi
    local name
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    done
    return 1
}

if browser=$(find_browser); then
    echo "$browser"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: no Chromium found and no apt-get to install it;" \
         "install Chromium and/or set LSTM_COURSE_CHROMIUM=/path/to/chromium" >&2
    exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "ensure_chromium: no Chromium found; installing it needs root:" \
         "sudo apt-get install chromium chromium-driver" >&2
    exit 1
fi

echo "ensure_chromium: installing Debian's chromium with apt-get ..." >&2
export DEBIAN_FRONTEND=noninteractive
# Try with the current package lists first; refresh them only when that fails.
if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver >&2; then
    "${SUDO[@]}" apt-get update -q >&2 &&
        "${SUDO[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver >&2
fi

if browser=$(find_browser); then
    echo "$browser"
    exit 0
fi
echo "ensure_chromium: apt-get could not install chromium (offline or no such package)" >&2
exit 1
