#!/usr/bin/env bash
# Make sure a headless Chromium is available for the browser test of the built book
# (tests/site/test_site_browser.py).  Prints the browser's path and exits 0 when one is found or
# could be installed; exits 1 with a reason otherwise, and the test then skips with that reason.
#
# Order: $LSTM_COURSE_CHROMIUM, then chromium / chromium-browser / google-chrome on PATH, then
# Debian's `chromium` package installed with apt-get (only when running as root, or with
# password-less sudo).  Never downloads a browser any other way.  When it can use apt-get it
# also adds a small CJK font (fonts-wqy-microhei) if none is installed, so the glossary's
# Chinese terms show in the screenshots instead of empty boxes.
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

has_cjk_font() {
    command -v fc-list >/dev/null 2>&1 && [[ -n "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]]
}

if browser=$(find_browser) && has_cjk_font; then
    echo "$browser"
    exit 0
fi

# Cannot install: a browser without a CJK font is still good enough for the checks.
give_up() {
    if browser=$(find_browser); then
        echo "ensure_chromium: $1; Chinese text shows as boxes in screenshots" >&2
        echo "$browser"
        exit 0
    fi
    echo "ensure_chromium: no Chromium found; $1." \
         "Install Chromium (Debian: apt-get install chromium) or set LSTM_COURSE_CHROMIUM" >&2
    exit 1
}

command -v apt-get >/dev/null 2>&1 || give_up "no apt-get to install it"
if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    give_up "installing it needs root (sudo apt-get install chromium fonts-wqy-microhei)"
fi

packages=()
find_browser >/dev/null || packages+=(chromium chromium-driver)
has_cjk_font || packages+=(fonts-wqy-microhei)
echo "ensure_chromium: installing ${packages[*]} with apt-get ..." >&2
export DEBIAN_FRONTEND=noninteractive
# Try with the current package lists first; refresh them only when that fails.
if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}" >&2; then
    "${SUDO[@]}" apt-get update -q >&2 &&
        "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}" >&2
fi
has_cjk_font || echo "ensure_chromium: no CJK font; Chinese text shows as boxes in screenshots" >&2

if browser=$(find_browser); then
    echo "$browser"
    exit 0
fi
echo "ensure_chromium: apt-get could not install chromium (offline or no such package)" >&2
exit 1
