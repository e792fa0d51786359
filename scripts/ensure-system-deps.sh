#!/usr/bin/env bash
# Debian packages Qt needs on a bare machine (offscreen and on-screen), plus PDF rendering tools
# used by the screenshot scripts. Installs what is missing when we are root; otherwise prints the
# exact command and stops.
set -euo pipefail

QT_OFFSCREEN="libegl1 libgl1 libxkbcommon0 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 libx11-6 fonts-dejavu-core"
QT_ONSCREEN="libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0"
# Xvfb: the journey tests (tests/journeys) run the app on a real X server with the xcb plugin.
TOOLS="poppler-utils xvfb xauth"
# The SSO journey test drives a real browser (Debian's chromium and its WebDriver).
BROWSER="chromium chromium-driver"
WANTED="$QT_OFFSCREEN $QT_ONSCREEN $TOOLS $BROWSER"

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "ensure-system-deps: not a Debian-family system; make sure Qt 6's runtime libraries are installed:" >&2
  echo "  $WANTED" >&2
  exit 0
fi

missing=""
for pkg in $WANTED; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $pkg"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = "0" ]; then
  echo "Installing system libraries Qt needs:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  # shellcheck disable=SC2086
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "Qt needs these system packages; install them and run again:" >&2
  echo "  sudo apt-get install -y$missing" >&2
  exit 1
fi
