"""The third-party web assets the package ships: plotly.js, the world map's geometry
(Natural Earth via world-atlas) and topojson-client to read it.

They are fetched from the npm registry, pinned by `package-lock.json` beside this module,
when the package is built (`build_hooks/web_assets.py`), and installed with it under
`vendor/`; nothing is fetched at run time and nothing is loaded from a CDN.
"""

from __future__ import annotations

from pathlib import Path

from talent_tracker.errors import UserError

VENDOR = Path(__file__).resolve().parent / "vendor"
PLOTLY_JS = VENDOR / "plotly.min.js"
TOPOJSON_JS = VENDOR / "topojson-client.min.js"
WORLD = VENDOR / "countries-110m.json"  # TopoJSON, 1:110m


def require_assets() -> None:
    """A one-line error when this install lacks its web assets (a checkout nobody built)."""
    missing = [p.name for p in (PLOTLY_JS, TOPOJSON_JS, WORLD) if not p.is_file()]
    if missing:
        raise UserError(f"web assets missing from this install ({', '.join(missing)} in {VENDOR}): reinstall "
                        "talent-tracker, whose build fetches them, or run `python build_hooks/web_assets.py` "
                        "in a checkout")
