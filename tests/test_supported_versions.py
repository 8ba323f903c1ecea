"""The dependency floor keeps Keras releases with published safe_mode bypasses out of an install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _version(text: str) -> tuple:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2])


def test_keras_floor_excludes_releases_with_safe_mode_bypasses():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    keras = [d for d in deps if re.match(r"keras\b", d)]
    assert len(keras) == 1, deps
    floor = re.search(r">=\s*([\d.]+)", keras[0])
    assert floor and _version(floor.group(1)) >= (3, 14), keras[0]  # bypasses fixed in 3.11 and 3.14
    pinned = re.search(r"^keras==([\d.]+)$", (ROOT / "constraints.txt").read_text(), re.M)
    assert pinned and _version(pinned.group(1)) >= (3, 14)
    for page in ("README.md", "docs/install.md"):  # the front door's safety note, the install page's versions
        text = (ROOT / page).read_text()
        assert "keras>=3.14" in text and "safe_mode" in text, page


def test_the_installed_keras_is_supported():
    import keras

    assert _version(keras.__version__) >= (3, 14), keras.__version__
