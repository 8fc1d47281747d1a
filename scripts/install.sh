#!/usr/bin/env bash
# Install talent-tracker into ./.venv with the web assets it serves (map geometry from the
# npm registry). With --test: also the test dependencies, the Spark backend of the people
# model (pyspark, and Java 17 from Debian if there is no Java), and Debian's Chromium,
# which the browser tests drive (Playwright's own browser download does not work offline).
set -euo pipefail
cd "$(dirname "$0")/.."
test_deps=no
[ "${1:-}" = "--test" ] && test_deps=yes

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
if [ "$test_deps" = yes ]; then
  .venv/bin/pip install -q -e '.[test,spark]'
else
  .venv/bin/pip install -q -e .
fi
npm ci --prefix src/talent_tracker/web --no-audit --no-fund --silent

if [ "$test_deps" = yes ]; then
  packages=()
  [ -x /usr/bin/chromium ] || packages+=(chromium chromium-driver)
  command -v java >/dev/null || packages+=(openjdk-17-jre-headless)
  if [ ${#packages[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
  fi
fi
