"""Output folders caedoctor owns: a marker file lists what caedoctor wrote there, so `--force` deletes only
caedoctor's own outputs and never a file of the user's.

Every folder caedoctor writes results into holds `.caedoctor-outputs.json`: the names (files or folders,
directly inside it) that caedoctor claimed before writing them. A writer calls `claim(folder, names)` first;
a name that already exists there and was not claimed by caedoctor is refused, so nothing of the user's is
overwritten. `prepare(folder, force=True)` replaces an earlier run only when every entry of the folder is
claimed; anything else in it, or a folder without the marker, is refused with nothing deleted. A claimed
sub-folder that holds its own marker (the demo's per-model folders) is checked the same way, recursively.

Example::

    from caedoctor.out_folder import claim, prepare

    out = prepare("runs/x", force=True)      # a new folder, or an earlier caedoctor run emptied
    claim(out, ["metrics.json"])             # then write out / "metrics.json"
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from caedoctor.errors import CaedoctorError

MARKER = ".caedoctor-outputs.json"


class OutputFolderError(CaedoctorError):
    """An output folder holds files caedoctor did not write, so it will not replace or overwrite them."""


def _read(folder: Path) -> dict | None:
    """The folder's marker (None when there is none); a damaged marker proves nothing and is an error."""
    path = folder / MARKER
    if not path.is_file():
        return None
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(marker, dict) or not all(isinstance(n, str) for n in marker["outputs"]):
            raise ValueError
        return marker
    except (OSError, ValueError, KeyError, TypeError):
        raise OutputFolderError(f"{path} is damaged, so caedoctor cannot tell which files in {folder} are its "
                                "own; nothing was changed. Remove the folder yourself or choose another") from None


def _write(folder: Path, outputs) -> None:
    from caedoctor.version import __version__

    marker = {"written_by": "caedoctor", "version": __version__,
              "note": "caedoctor wrote the outputs listed here; `--force` removes these and nothing else",
              "outputs": sorted(set(outputs))}
    tmp = folder / f".{MARKER}.tmp"
    tmp.write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, folder / MARKER)


def _is_claimed(name: str, claimed: set) -> bool:
    """A claimed name, or the temporary file of one (`.x.tmp`, `.tmp_x`) left behind by a killed write."""
    if name in claimed or name == f".{MARKER}.tmp":
        return True
    if name.startswith(".tmp_") and name[len(".tmp_"):] in claimed:
        return True
    return name.startswith(".") and name.endswith(".tmp") and name[1:-len(".tmp")] in claimed


def foreign_entries(folder) -> list[Path] | None:
    """The entries of `folder` caedoctor did not write (recursing into claimed folders with a marker of
    their own); None when the folder has no marker, i.e. caedoctor did not create it."""
    folder = Path(folder)
    marker = _read(folder)
    if marker is None:
        return None
    claimed = set(marker["outputs"])
    foreign = []
    for entry in sorted(folder.iterdir()):
        if entry.name == MARKER:
            continue
        if not _is_claimed(entry.name, claimed):
            foreign.append(entry)
        elif entry.is_dir() and not entry.is_symlink() and (entry / MARKER).is_file():
            foreign.extend(foreign_entries(entry) or [])
    return foreign


def _shown(paths: list[Path], folder: Path) -> str:
    names = [str(p.relative_to(folder)) for p in paths[:3]]
    return ", ".join(names) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def prepare(folder, *, force: bool = False, resume: bool = False) -> Path:
    """Make `folder` ready for a new run and return it as a Path.

    A missing or empty folder is created and marked. A folder that already holds results is refused unless
    `resume` (continue into it) or `force`; `force` removes an earlier caedoctor run's outputs only, and
    refuses (deleting nothing) when the folder holds anything caedoctor did not write or has no marker.

    Raises:
        OutputFolderError: the folder holds results (no `force`) or files that are not caedoctor's.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputFolderError(f"output path {folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if resume:
            return folder
        foreign = foreign_entries(folder)
        if foreign is None:
            raise OutputFolderError(
                f"output folder {folder} is not empty and was not created by caedoctor (it has no {MARKER}); "
                "nothing was deleted. Choose a new or empty folder" + (" (--force only replaces caedoctor's "
                                                                       "own output folders)" if force else ""))
        if foreign:
            raise OutputFolderError(
                f"output folder {folder} holds files caedoctor did not write ({_shown(foreign, folder)}); nothing "
                "was deleted. Move them away or choose another folder")
        if not force:
            raise OutputFolderError(f"output folder {folder} already holds results; pass --force to replace them "
                                    "or --resume to continue training")
        for entry in folder.iterdir():
            if entry.name == MARKER:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        _write(folder, [])
        return folder
    _create(folder)
    _write(folder, [])
    return folder


def _create(folder: Path) -> None:
    """Make `folder`; a new folder inside a caedoctor folder is claimed there (the demo's per-model folders,
    `repair --out X --report X/report`), so a later `--force` on the outer folder knows it too."""
    if folder.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    parent = folder.resolve().parent
    marker = _read(parent) if parent != folder.resolve() else None
    if marker is not None and folder.name not in marker["outputs"]:
        _write(parent, [*marker["outputs"], folder.name])


def has_marker(folder) -> bool:
    """Whether `folder` holds caedoctor's marker (was created or marked by caedoctor)."""
    return (Path(folder) / MARKER).is_file()


def claim(folder, names) -> Path:
    """Record that caedoctor is about to write `names` directly inside `folder` (created when missing).

    A name already claimed may be overwritten; a name that exists there but was never claimed belongs to
    someone else and is refused. A folder without a marker (say `--report .`) gets one that claims only what
    caedoctor adds, so a later `--force` on it still refuses: the rest of the folder is not caedoctor's.

    Raises:
        OutputFolderError: one of `names` exists in `folder` and caedoctor did not write it.
    """
    folder = Path(folder)
    check_claim(folder, names)
    _create(folder)
    marker = _read(folder)
    claimed = set(marker["outputs"]) if marker is not None else set()
    if marker is None or not set(names) <= claimed:
        _write(folder, claimed | set(names))
    return folder


def check_claim(folder, names) -> None:
    """Raise what `claim` would raise, without creating or writing anything (to refuse before a long run)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputFolderError(f"output path {folder} exists and is not a folder")
    marker = _read(folder) if folder.is_dir() else None
    claimed = set(marker["outputs"]) if marker is not None else set()
    taken = [folder / n for n in names if n not in claimed and (folder / n).exists()]
    if taken:
        raise OutputFolderError(f"{_shown(taken, folder)} already exists in {folder} and caedoctor did not write "
                                "it; nothing was overwritten. Move it away or choose another folder")
