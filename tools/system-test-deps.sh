#!/usr/bin/env bash
# Debian packages the tests use, installed only when missing: xmlsec1 (an independent signature verifier),
# chromium (the console's browser tests; no browser is ever downloaded by a test tool) and a CJK font.
set -euo pipefail
need=()
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
command -v chromium >/dev/null 2>&1 || need+=(chromium)     # browser tests of the console (Playwright drives it)
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need+=(fonts-wqy-zenhei)   # Chinese text in screenshots
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
