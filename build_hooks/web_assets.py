"""The web assets the tracker serves, fetched from the npm registry when the package is built.

`src/talent_tracker/web/package-lock.json` pins each npm package's version and the sha512
of its tarball. This module downloads each tarball once, checks that hash, and extracts
the few files the tracker serves (plotly.js, the world map's geometry and its reader,
with their licences) into `src/talent_tracker/web/vendor/`, which is package data and
not in git. The build backend beside it runs this before every wheel, sdist and editable
install, so an installed package never reaches for the network or for npm.

Run it by hand with `python build_hooks/web_assets.py` (it does nothing when the files
already match the lock). The registry can be a mirror: set `npm_config_registry`, as
for npm itself.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

WEB = Path(__file__).resolve().parents[1] / "src" / "talent_tracker" / "web"
LOCK = WEB / "package-lock.json"
VENDOR = WEB / "vendor"
STAMP = "lock.json"  # the integrity of each package the files in vendor/ came from

# npm package -> {member of its tarball: file in vendor/}
ASSETS = {
    "plotly.js-dist-min": {"package/plotly.min.js": "plotly.min.js",
                           "package/LICENSE": "licenses/plotly.js-dist-min.txt"},
    "topojson-client": {"package/dist/topojson-client.min.js": "topojson-client.min.js",
                        "package/LICENSE": "licenses/topojson-client.txt"},
    "world-atlas": {"package/countries-110m.json": "countries-110m.json",
                    "package/LICENSE": "licenses/world-atlas.txt"},
}
MAX_TARBALL = 64 << 20  # bytes; plotly.js-dist-min is ~1.5 MB packed
ATTEMPTS = 4


class AssetError(RuntimeError):
    pass


def pinned() -> dict[str, dict]:
    """name -> {version, integrity} for every served package, from the lock file."""
    packages = json.loads(LOCK.read_text("utf-8"))["packages"]
    out = {}
    for name in ASSETS:
        entry = packages.get(f"node_modules/{name}")
        if not entry or "integrity" not in entry:
            raise AssetError(f"{LOCK.name} does not pin {name}: run `npm install --package-lock-only` in {WEB}")
        out[name] = {"version": entry["version"], "integrity": entry["integrity"]}
    return out


def up_to_date(pins: dict[str, dict], vendor: Path = VENDOR) -> bool:
    try:
        stamp = json.loads((vendor / STAMP).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    files = [vendor / f for members in ASSETS.values() for f in members.values()]
    return stamp == pins and all(f.is_file() for f in files)


def tarball_url(name: str, version: str, registry: str | None = None) -> str:
    registry = (registry or os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY")
                or "https://registry.npmjs.org/").rstrip("/")
    return f"{registry}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def download(url: str, integrity: str, log=print) -> bytes:
    """The tarball at `url`, if its hash matches the lock's `sha512-...` integrity."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm not in ("sha512", "sha384", "sha256"):
        raise AssetError(f"unsupported integrity {integrity[:20]}... for {url}")
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read(MAX_TARBALL + 1)
            break
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            status = getattr(exc, "code", None)
            if attempt == ATTEMPTS or (status is not None and status < 500 and status != 429):
                raise AssetError(f"cannot fetch {url}: {exc}") from None
            log(f"  retrying {url} ({exc})")
            time.sleep(2 ** attempt)
    if len(data) > MAX_TARBALL:
        raise AssetError(f"{url} is larger than {MAX_TARBALL >> 20} MB")
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if digest != expected:
        raise AssetError(f"{url} does not match the integrity pinned in {LOCK.name}")
    return data


def extract(data: bytes, members: dict[str, str], target: Path, url: str) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member, name in members.items():
            try:
                source = tar.extractfile(member)
            except KeyError:
                source = None
            if source is None:
                raise AssetError(f"{url} has no file {member}")
            out = target / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(source.read())


def fetch(vendor: Path = VENDOR, registry: str | None = None, log=print) -> bool:
    """Make `vendor` hold the locked assets; False when it already did."""
    pins = pinned()
    if up_to_date(pins, vendor):
        return False
    vendor.parent.mkdir(parents=True, exist_ok=True)
    # fill a sibling folder, then swap it in: an interrupted fetch leaves no half-filled vendor/
    with tempfile.TemporaryDirectory(dir=vendor.parent, prefix=".vendor-") as tmp:
        staging = Path(tmp) / "vendor"
        staging.mkdir()
        for name, pin in pins.items():
            url = tarball_url(name, pin["version"], registry)
            log(f"  web asset {name} {pin['version']} from {url}")
            extract(download(url, pin["integrity"], log), ASSETS[name], staging, url)
        (staging / STAMP).write_text(json.dumps(pins, indent=2, sort_keys=True) + "\n", "utf-8")
        old = Path(tmp) / "old"
        if vendor.exists():
            vendor.rename(old)
        try:
            staging.rename(vendor)
        except OSError:
            if old.exists():
                old.rename(vendor)  # put the previous assets back before the folder is cleaned up
            raise
    return True


if __name__ == "__main__":
    try:
        print("web assets fetched" if fetch() else "web assets already match the lock")
    except AssetError as exc:
        sys.exit(f"error: {exc}")
