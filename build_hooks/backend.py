"""The package's build backend: setuptools, after fetching the web assets (web_assets.py).

Every way of building the package (a wheel, an sdist, an editable install) goes through
here, so every installed copy carries the assets it serves. pyproject.toml names this
module with `backend-path = ["build_hooks"]`.
"""

from __future__ import annotations

import sys

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 (the hooks not overridden below)

import web_assets


def _assets() -> None:
    try:
        web_assets.fetch(log=lambda line: print(line, file=sys.stderr))
    except web_assets.AssetError as exc:
        raise SystemExit(f"error: {exc}") from None


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _assets()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _assets()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None):
    _assets()
    return _setuptools.build_sdist(sdist_directory, config_settings)
