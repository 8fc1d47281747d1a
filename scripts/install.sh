#!/usr/bin/env bash
# Install talent-tracker into ./.venv from the lock files (requirements/, made by
# scripts/lock.sh), one line per step. The package's build fetches the web assets it
# serves (plotly.js, the map geometry) from the npm registry: build_hooks/web_assets.py.
# With --test: also the tests' tools and the Spark backend of the people model (pyspark,
# and Java 17 from Debian if there is no Java), and Debian's Chromium, which the browser
# tests drive (Playwright's own browser download does not work offline).
set -euo pipefail
cd "$(dirname "$0")/.."
lock=requirements/app.txt steps=3
if [ "${1:-}" = "--test" ]; then lock=requirements/test.txt steps=4; fi
step=0 started=$SECONDS
begin() { step=$((step + 1)); started=$SECONDS; printf '[%d/%d] %s ... ' "$step" "$steps" "$1"; }
done_() { echo "done ($((SECONDS - started)) s)"; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# pip's own output goes to a log: shown whole if pip fails, and its warnings shown anyway,
# except the ones about this machine's own pip.conf (index folders that lack a package)
pip() {
  if ! .venv/bin/python -m pip --disable-pip-version-check --no-input -q "$@" >"$log" 2>&1; then
    echo "failed"; grep -v "^WARNING: Location 'file:.*' is ignored" "$log" >&2; exit 1
  fi
  if grep -v "^WARNING: Location 'file:.*' is ignored" "$log" | grep -i -E "warn|deprecat" >&2; then echo; fi
}

begin "Python environment in .venv"
python3 -m venv --clear .venv
done_

packages=$(sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' "$lock" | sort -u | wc -l)
begin "$packages locked packages from $lock, hashes checked"
pip install --require-hashes --no-deps -r requirements/build.txt -r "$lock"
done_

begin "talent-tracker (editable), with its web assets from the npm registry"
pip install --no-deps --no-build-isolation -e .
done_

if [ "$lock" = requirements/test.txt ]; then
  packages=()
  [ -x /usr/bin/chromium ] || packages+=(chromium chromium-driver)
  command -v java >/dev/null || packages+=(openjdk-17-jre-headless)
  begin "Debian packages: ${packages[*]:-none missing (Chromium and Java are here)}"
  if [ ${#packages[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
  fi
  done_
fi
