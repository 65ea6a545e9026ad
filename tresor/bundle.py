"""Files shipped beside the `tresor` package: `webui/*` and the default `config.yaml`.

They sit next to the package in a source checkout and at the archive root inside tresor.pyz.
Reads go through the package loader's `get_data`, which works for both (STYLE.md 4.7: no
`__file__`-relative paths, because inside a zipapp `__file__` points into the archive).
"""
from __future__ import annotations

import os
import posixpath
from typing import Optional

import tresor


def _root() -> str:
    return os.path.dirname(list(tresor.__spec__.submodule_search_locations)[0])


def read(name: str) -> Optional[bytes]:
    """Return the bytes of bundled file `name` (a relative posix path), or None when absent.

    Names that try to leave the bundle (`..`, absolute paths, backslashes) return None.
    """
    clean = posixpath.normpath(name)
    if clean.startswith(("/", "..")) or "\\" in name or "\0" in name or clean == ".":
        return None
    try:
        return tresor.__spec__.loader.get_data(os.path.join(_root(), *clean.split("/")))
    except (OSError, IsADirectoryError):
        return None
