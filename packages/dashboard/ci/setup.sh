#!/usr/bin/env bash
# CI setup for @courier/dashboard: the browser test drives Debian's Chromium
# through playwright-core (never a browser downloaded by a test tool).
set -euo pipefail
if command -v /usr/bin/chromium >/dev/null 2>&1; then
  echo "dashboard: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) is installed"
  exit 0
fi
echo "== dashboard: installing chromium"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq chromium >/tmp/dashboard-apt.log 2>&1; then
  apt-get update -qq >>/tmp/dashboard-apt.log 2>&1
  apt-get install -y -qq chromium >>/tmp/dashboard-apt.log 2>&1 || {
    echo "dashboard: apt-get install chromium failed; see /tmp/dashboard-apt.log" >&2
    exit 1
  }
fi
echo "dashboard: $(/usr/bin/chromium --version 2>/dev/null) ready at /usr/bin/chromium"
