#!/usr/bin/env bash
# Make sure bubblewrap (`bwrap`) is installed and can create a sandbox: `lstm-course grade` runs
# every submission in one and refuses to grade without it.  Prints bwrap's path and exits 0 when
# it works; exits 1 with what to do otherwise.
#
# Installs Debian's/Ubuntu's `bubblewrap` package with apt-get (as root, or with password-less
# sudo) where it is missing; never downloads it any other way.  Then checks that a sandbox can
# start (user namespaces allowed) the way the grader starts it.
set -uo pipefail

find_bwrap() {
    if [[ -n "${LSTM_COURSE_BWRAP:-}" ]]; then
        [[ -x "${LSTM_COURSE_BWRAP}" ]] && { echo "${LSTM_COURSE_BWRAP}"; return 0; }
        return 1
    fi
    command -v bwrap 2>/dev/null && return 0
    [[ -x /usr/bin/bwrap ]] && { echo /usr/bin/bwrap; return 0; }
    return 1
}

if ! bwrap=$(find_bwrap); then
    if [[ -n "${LSTM_COURSE_BWRAP:-}" ]]; then
        echo "LSTM_COURSE_BWRAP=${LSTM_COURSE_BWRAP} is not an executable bwrap" >&2
        exit 1
    fi
    if command -v apt-get >/dev/null 2>&1; then
        if [[ $(id -u) -eq 0 ]]; then
            SUDO=""
        elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            SUDO="sudo -n"
        else
            echo "bubblewrap is missing and this user cannot install it: run" >&2
            echo "    sudo apt-get install -y bubblewrap" >&2
            exit 1
        fi
        echo "installing bubblewrap with apt-get ..." >&2
        $SUDO apt-get install -y bubblewrap >/dev/null 2>&1 || {
            $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y bubblewrap >/dev/null 2>&1; }
    fi
    if ! bwrap=$(find_bwrap); then
        echo "bubblewrap (bwrap) is not installed and could not be installed here. Install it with" >&2
        echo "your system's package manager (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf" >&2
        echo "install bubblewrap; macOS has no bubblewrap: grade on Linux or in deploy/Dockerfile's image)." >&2
        exit 1
    fi
fi

# the grader's own check: the same namespaces and user switch a submission's sandbox gets
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${here}/.venv/bin/python"
[[ -x "$python" ]] || python=python3
if ! out=$("$python" -c "from lstm_course.sandbox import require_bwrap; print(require_bwrap())" 2>&1); then
    echo "$bwrap is installed but cannot create a sandbox here:" >&2
    echo "$out" | tail -n 3 >&2
    exit 1
fi
echo "$bwrap"
