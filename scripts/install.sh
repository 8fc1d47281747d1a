#!/usr/bin/env bash
# Install talent-tracker into ./.venv with the web assets it serves (map geometry from the
# npm registry). With --test: also the test dependencies and Debian's Chromium, which the
# browser tests drive (Playwright's own browser download does not work offline).
set -euo pipefail
cd "$(dirname "$0")/.."
test_deps=no
[ "${1:-}" = "--test" ] && test_deps=yes

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
if [ "$test_deps" = yes ]; then
  .venv/bin/pip install -q -e '.[test]'
else
  .venv/bin/pip install -q -e .
fi
npm ci --prefix src/talent_tracker/web --no-audit --no-fund --silent

if [ "$test_deps" = yes ] && ! [ -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi
