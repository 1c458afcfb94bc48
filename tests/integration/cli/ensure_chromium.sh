#!/bin/sh
# Prints the path of a headless-capable Chromium, installing Debian's
# chromium package (and a font for the labels) with apt-get when it is
# missing.  Exits non-zero, with the reason on stderr, when it cannot.
set -e
find_chromium() {
    for name in chromium chromium-browser; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}
if find_chromium; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "ensure_chromium: chromium is missing and installing it needs root" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
find_chromium || { echo "ensure_chromium: chromium still not found after install" >&2; exit 1; }
