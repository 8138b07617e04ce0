#!/usr/bin/env bash
# Makes sure Debian's Chromium and ChromeDriver are installed: the operators' console is tested
# in a real headless browser (tests/console/browser/). Nothing is downloaded at test time
# besides these packages; an existing installation is used as it is.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "The browser tests need Chromium and ChromeDriver (Debian: apt-get install chromium chromium-driver)." >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installing Debian's chromium and chromium-driver for the browser tests (about a minute)..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
command -v chromium >/dev/null && command -v chromedriver >/dev/null
