"""`publish`: the tracker as a static site that opens from disk (file://) or any static host.

The same pages as `serve`, with every figure precomputed for the filter values the site
offers (each venue and all venues; top20 and top2; all years and each year; country
profiles for the 60 leading countries with all years). Browsers do not let pages read
files from disk with fetch(), so the data is written as small scripts that set
`window.TT_DATA[...]`, loaded on demand; the map geometry likewise.

The site is written to a temporary folder beside the output and swapped in when complete,
so a failed publish leaves the old site. It carries a marker file (SITE_MARKER) listing
every file it wrote: publish replaces a folder only if it is empty or holds exactly a site
it wrote itself, so `--output` can never delete someone's files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from talent_tracker.errors import UserError
from talent_tracker.figures import analyses
from talent_tracker.population import PLACES, Population
from talent_tracker.store import reading
from talent_tracker.web.assets import PLOTLY_JS, TOPOJSON_JS, WORLD, require_assets
from talent_tracker.web.site import HERE, PAGES, comparison, meta_of, safe_json

COUNTRY_PROFILES = 60


SITE_MARKER = ".talent-tracker-site"


def publish(db: Path, output: Path, progress=lambda done, total: None) -> dict:
    db, output = Path(db), Path(output)
    with reading.Tracker(db) as tracker:  # one reader and memo for every page's figures
        return _publish(tracker, output, progress)


def _publish(tracker: reading.Tracker, output: Path, progress) -> dict:
    with tracker.reader():
        pass  # an unreadable database is one line before anything else
    require_assets()
    check_site_output(output)
    meta = meta_of(tracker)
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    except OSError as exc:
        raise UserError(f"{output.parent}: cannot write the site here ({exc.strerror or exc})") from None
    try:
        _pages(work, meta)
        _assets(work)
        counts = _data(work, tracker, meta, progress)
        files = sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file())
        (work / SITE_MARKER).write_text(json.dumps({"written_by": "talent-tracker publish", "database": str(tracker.db.resolve()),
                                                    "files": files}, indent=1), "utf-8")
        _swap_in(work, output)
    except OSError as exc:
        raise UserError(f"{output}: the site could not be written ({exc.strerror or exc}); the previous one is "
                        "unchanged") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return counts


def check_site_output(output: Path) -> None:
    """One line, before any work, when the site cannot go to `output`: it must be a new
    or empty folder, or a site publish wrote, in a writable folder that exists."""
    output = Path(output)
    parent = output.parent
    if not parent.is_dir():
        raise UserError(f"{parent}: " + ("is a file, not a folder" if parent.exists() else "folder not found"))
    if output.is_symlink() or (output.exists() and not output.is_dir()):
        raise UserError(f"{output}: exists and is not a folder; choose another --output")
    if output.is_dir() and any(output.iterdir()):
        foreign = _not_ours(output)
        if foreign:
            raise UserError(f"{output}: holds files publish did not write ({foreign}); choose a new or empty folder "
                            "(publish never deletes files it did not write)")
    if output.resolve() in (Path.cwd().resolve(), *Path.cwd().resolve().parents):
        raise UserError(f"{output}: is the current folder or one above it; choose a folder for the site")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{parent}: is not writable")


def _not_ours(folder: Path) -> str | None:
    """What in `folder` is not part of a site publish wrote there (None if nothing)."""
    try:
        listed = set(json.loads((folder / SITE_MARKER).read_text("utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return "no site of publish"
    for path in folder.rglob("*"):
        relative = str(path.relative_to(folder))
        if relative != SITE_MARKER and (path.is_symlink() or (path.is_file() and relative not in listed)
                                        or not (path.is_file() or path.is_dir())):
            return relative
    return None


def _swap_in(work: Path, output: Path) -> None:
    """Put the finished site in place of `output`: the old site (ours, or an empty folder)
    is moved aside, the new one renamed in, and the old one removed."""
    old = None
    if output.exists():
        old = output.with_name(f".{output.name}.{os.getpid()}.old.tmp")
        output.rename(old)
    try:
        work.rename(output)
    except OSError:
        if old is not None:
            old.rename(output)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _pages(root: Path, meta: dict) -> None:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]))
    template = env.get_template("page.html")
    for key, (_, title, charts) in PAGES.items():
        html = template.render(page=key, title=title, charts=charts, pages=PAGES, static_site=True,
                               meta_json=safe_json(meta), country="US")
        (root / f"{key}.html").write_text(html, "utf-8")
    (root / "index.html").write_text((root / "overview.html").read_text("utf-8"), "utf-8")


def _assets(root: Path) -> None:
    static = root / "static"
    static.mkdir()
    for name in ("app.js", "style.css"):
        shutil.copy(HERE / "static" / name, static / name)
    shutil.copy(PLOTLY_JS, static / "plotly.min.js")
    shutil.copy(TOPOJSON_JS, static / "topojson-client.min.js")
    world = WORLD.read_text("utf-8")
    (static / "world.js").write_text(f"window.TT_WORLD = {world};\n", "utf-8")


def _combos(meta: dict) -> list[tuple[str, tuple[str, ...], str, str, str]]:
    """(venue key, venues, tier, place, years) for every filter setting the site offers."""
    combos = []
    for key in [*meta["venues"], "all"]:
        venues = tuple(meta["venues"]) if key == "all" else (key,)
        years = sorted({y["year"] for v in venues for y in meta["venues"][v]})
        for tier in ("top20", "top2"):
            for place in PLACES:
                for year in ["all", *map(str, years)]:
                    combos.append((key, venues, tier, place, year))
    return combos


def _data(root: Path, tracker: reading.Tracker, meta: dict, progress) -> dict:
    combos = _combos(meta)
    names = list(analyses.ANALYSES)
    total = len(combos) * len(names)
    done = files = 0
    for key, venues, tier, place, year in combos:
        f = Population(venues, () if year == "all" else (int(year),), tier, place)
        for name in names:
            result = analyses.ANALYSES[name](tracker, f).as_dict()
            _write(root, f"{name}/{key}_{tier}_{place}_{year}", result)
            files += 1
            done += 1
            progress(done, total)
        if year == "all":
            countries = [r[0] for r in analyses.work_countries(tracker, f).rows[:COUNTRY_PROFILES]]
            for code in countries:
                _write(root, f"country/{key}_{tier}_{place}_all_{code}", analyses.country_profile(tracker, f, code))
                files += 1
    _write(root, "compare/all_all_hq_all", comparison(tracker))
    files += 1
    return {"pages": len(PAGES) + 1, "data_files": files, "filter_settings": len(combos)}


def _write(root: Path, path: str, data: dict) -> None:
    target = root / "data" / f"{path}.js"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"window.TT_DATA[{json.dumps(path)}] = {safe_json(data)};\n", "utf-8")
