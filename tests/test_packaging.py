"""The package: its web assets fetched at build time (build_hooks/web_assets.py), the city
table it ships, and (realdata) a wheel from a clean copy installed with plain pip into a
new venv that builds NeurIPS 2018, publishes its site with the map and serves it."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import importlib.util
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time

import httpx
import pytest

from talent_tracker.web import assets

from conftest import ROOT

spec = importlib.util.spec_from_file_location("web_assets", ROOT / "build_hooks" / "web_assets.py")
web_assets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(web_assets)


# --- the web assets, fetched from a registry (a local one here) ----------------------------

def tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@contextlib.contextmanager
def registry(tarballs: dict[str, bytes]):
    """A local npm registry serving `/<name>/-/<name>-<version>.tgz`; yields (url, paths asked)."""
    asked = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            data = tarballs.get(self.path)
            self.send_response(200 if data is not None else 404)
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", asked
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_packages(monkeypatch):
    """Three small packages in the shape of the real ones, and a lock pinning them."""
    contents = {name: {member: f"{name}:{member}".encode() for member in members}
                for name, members in web_assets.ASSETS.items()}
    tarballs = {f"/{name}/-/{name}-1.0.0.tgz": tarball(files) for name, files in contents.items()}
    pins = {name: {"version": "1.0.0", "integrity": integrity(tarballs[f"/{name}/-/{name}-1.0.0.tgz"])}
            for name in contents}
    monkeypatch.setattr(web_assets, "pinned", lambda: pins)
    return contents, tarballs, pins


@pytest.mark.fast
def test_assets_are_fetched_checked_and_placed(tmp_path, fake_packages):
    contents, tarballs, pins = fake_packages
    vendor = tmp_path / "vendor"
    with registry(tarballs) as (url, asked):
        assert web_assets.fetch(vendor, registry=url, log=lambda line: None) is True
        assert sorted(asked) == sorted(tarballs)
        for name, members in web_assets.ASSETS.items():
            for member, target in members.items():
                assert (vendor / target).read_bytes() == contents[name][member]
        assert json.loads((vendor / "lock.json").read_text()) == pins
        # a second build finds them in place and asks nothing
        assert web_assets.fetch(vendor, registry=url, log=lambda line: None) is False
        assert len(asked) == len(tarballs)


@pytest.mark.fast
def test_a_tarball_that_does_not_match_the_lock_is_refused(tmp_path, fake_packages):
    _contents, tarballs, _pins = fake_packages
    first = next(iter(tarballs))
    tarballs[first] = tarball({"package/evil.js": b"alert(1)"})
    vendor = tmp_path / "vendor"
    with registry(tarballs) as (url, _), pytest.raises(web_assets.AssetError, match="does not match the integrity"):
        web_assets.fetch(vendor, registry=url, log=lambda line: None)
    assert not vendor.exists()  # nothing half-written


@pytest.mark.fast
def test_a_failed_refresh_keeps_the_previous_assets(tmp_path, fake_packages):
    _contents, tarballs, pins = fake_packages
    vendor = tmp_path / "vendor"
    with registry(tarballs) as (url, _):
        web_assets.fetch(vendor, registry=url, log=lambda line: None)
    before = {p: p.read_bytes() for p in vendor.rglob("*") if p.is_file()}
    pins["world-atlas"]["version"] = "2.0.0"  # a new pin the registry does not have
    with registry(tarballs) as (url, _), pytest.raises(web_assets.AssetError, match="cannot fetch"):
        web_assets.fetch(vendor, registry=url, log=lambda line: None)
    assert {p: p.read_bytes() for p in vendor.rglob("*") if p.is_file()} == before


@pytest.mark.fast
def test_the_lock_pins_every_served_package_from_the_registry():
    pins = web_assets.pinned()
    assert set(pins) == set(web_assets.ASSETS)
    assert all(pin["integrity"].startswith("sha512-") for pin in pins.values())
    assert web_assets.tarball_url("world-atlas", "2.0.2", "https://registry.npmjs.org/") == \
        "https://registry.npmjs.org/world-atlas/-/world-atlas-2.0.2.tgz"


@pytest.mark.fast
def test_this_install_carries_the_locked_assets():
    assets.require_assets()
    assert json.loads((assets.VENDOR / "lock.json").read_text()) == web_assets.pinned()
    world = json.loads(assets.WORLD.read_text())
    assert world["type"] == "Topology" and "countries" in world["objects"]


@pytest.mark.fast
def test_missing_assets_are_one_clear_error(tmp_path, monkeypatch):
    from talent_tracker.errors import UserError

    monkeypatch.setattr(assets, "PLOTLY_JS", tmp_path / "plotly.min.js")
    with pytest.raises(UserError, match=r"web assets missing from this install \(plotly\.min\.js"):
        assets.require_assets()


# --- the city table ---------------------------------------------------------------------------

@pytest.mark.fast
def test_the_shipped_city_table_is_the_derivation_of_geonames():
    from talent_tracker.institutions.derive_cities import CITIES, as_csv, derive_city_names

    assert CITIES.read_text("utf-8") == as_csv(derive_city_names())


@pytest.mark.fast
def test_the_city_rule_keeps_only_names_one_country_dominates():
    from talent_tracker.institutions.derive_cities import derive_city_names

    cities = [{"name": "Springfield", "countrycode": "US", "population": 150_000},
              {"name": "Springfield", "countrycode": "AU", "population": 20_000},  # 7.5x smaller: ambiguous
              {"name": "Hangzhou", "countrycode": "CN", "population": 9_000_000},
              {"name": "Hangzhou", "countrycode": "TW", "population": 15_000},
              {"name": "Smallville", "countrycode": "US", "population": 50_000}]
    assert derive_city_names(cities) == {"hangzhou": "CN"}


# --- a wheel, from a clean copy, into a new venv ------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*args, cwd=None, env=None, timeout=900):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.mark.realdata
def test_a_wheel_installed_with_pip_alone_builds_and_publishes(shared, tmp_path):
    # the files of a clean clone: tracked ones (with their changes), never the web assets
    # or anything else ignored in this working copy
    listed = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout
    clone = tmp_path / "clone"
    for rel in filter(None, listed.split("\0")):
        if (ROOT / rel).is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, clone / rel)
    assert not (clone / "src/talent_tracker/web/vendor").exists()

    python = sys.executable
    _run(python, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path / "dist", clone)
    [wheel] = (tmp_path / "dist").glob("talent_tracker-*.whl")
    shutil.rmtree(clone)

    venv = tmp_path / "venv"
    _run(python, "-m", "venv", venv)
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "--quiet"]
    # the locked versions (already in pip's cache on this machine), then the wheel: plain pip
    _run(*pip, "install", "--require-hashes", "-r", ROOT / "requirements" / "app.txt")
    _run(*pip, "install", wheel)

    work = tmp_path / "work"  # anywhere but the checkout: the installed package alone
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    tracker = venv / "bin" / "talent-tracker"
    _run(tracker, "build", "--data", shared, "--venue", "neurips", "--years", "2018", "--db", "n18.duckdb",
         cwd=work, env=env)
    summary = json.loads(_run(tracker, "summary", "--db", "n18.duckdb", "--json", cwd=work, env=env).stdout)
    assert [(r["venue"], r["year"], r["accepted_papers"]) for r in summary["venue_years"]] == [("neurips", 2018, 1009)]
    published = _run(tracker, "publish", "--db", "n18.duckdb", "--output", "site", cwd=work, env=env)
    assert "published" in published.stdout
    site = work / "site"
    assert (site / "map.html").is_file() and "static/topojson-client.min.js" in (site / "map.html").read_text()
    assert (site / "static" / "world.js").read_text().startswith("window.TT_WORLD = {")
    assert (site / "static" / "plotly.min.js").stat().st_size > 1_000_000
    # and serves the tracker with its assets
    port = _free_port()
    server = subprocess.Popen([tracker, "serve", "--db", "n18.duckdb", "--port", str(port), "--quiet"], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                page = httpx.get(base + "/map", timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None, "serve exited"
                time.sleep(0.2)
        assert page.status_code == 200 and "/vendor/topojson-client.min.js" in page.text
        for asset in ("/vendor/plotly.min.js", "/vendor/countries-110m.json", "/static-vendor/topojson/world_110m.json"):
            assert httpx.get(base + asset, timeout=10).status_code == 200, asset
    finally:
        server.terminate()
        server.wait(10)
    # the package came from the wheel, not from this checkout
    where = _run(venv / "bin" / "python", "-c", "import talent_tracker; print(talent_tracker.__file__)",
                 cwd=work, env=env).stdout
    assert str(venv) in where and str(ROOT) not in where
