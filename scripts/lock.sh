#!/usr/bin/env bash
# Re-lock the dependencies after changing them in pyproject.toml: every version pinned,
# with the hashes of every file of it, for Python 3.11+ on any platform. Needs uv
# (`pip install uv`); scripts/install.sh and CI install from these files with pip.
#   requirements/app.txt    what the tracker needs to run (build, serve, publish)
#   requirements/test.txt   that, the tests' tools and the Spark backend (extras test, spark)
#   requirements/build.txt  what builds the package (pyproject's build-system.requires)
set -euo pipefail
cd "$(dirname "$0")/.."
lock=(uv pip compile --universal --python-version 3.11 --generate-hashes --no-header --annotation-style line -q)
"${lock[@]}" pyproject.toml -o requirements/app.txt
"${lock[@]}" pyproject.toml --extra test --extra spark -o requirements/test.txt
python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))' \
  | "${lock[@]}" - -o requirements/build.txt
count() { sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' "$1" | sort -u | wc -l; }
echo "locked: $(count requirements/app.txt) packages to run, $(count requirements/test.txt) to test, $(count requirements/build.txt) to build"
