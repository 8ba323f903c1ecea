"""caedoctor.out_folder: `--force` removes caedoctor's own outputs only; a user's file is never deleted or
overwritten (no training here: the folders are made by hand)."""

from __future__ import annotations

import json

import pytest

from caedoctor.out_folder import MARKER, OutputFolderError, check_claim, claim, foreign_entries, prepare


def _run(folder, names=("metrics.json", "checkpoints")):
    """What a caedoctor run leaves: a prepared folder with claimed outputs written into it."""
    prepare(folder)
    claim(folder, names)
    for name in names:
        if "." in name:
            (folder / name).write_text("caedoctor's")
        else:
            (folder / name).mkdir()
            (folder / name / "epoch_001.keras").write_text("caedoctor's")
    return folder


def test_prepare_replaces_only_a_folder_holding_nothing_but_caedoctors_outputs(tmp_path):
    out = _run(tmp_path / "run")
    (out / ".metrics.json.tmp").write_text("left by a killed write")
    with pytest.raises(OutputFolderError, match="already holds results"):
        prepare(out)
    prepare(out, force=True)
    assert sorted(p.name for p in out.iterdir()) == [MARKER]
    assert json.loads((out / MARKER).read_text())["outputs"] == []


@pytest.mark.parametrize("force", [False, True])
def test_a_folder_without_the_marker_is_refused_and_kept(tmp_path, force):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputFolderError, match="not created by caedoctor.*nothing was deleted"):
        prepare(home, force=force)
    assert sorted(p.name for p in home.iterdir()) == ["thesis.tex"]


def test_a_user_file_inside_a_caedoctor_folder_blocks_force_and_nothing_is_deleted(tmp_path):
    out = _run(tmp_path / "run")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match=r"did not write \(notes.txt\); nothing was deleted"):
        prepare(out, force=True)
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "metrics.json").is_file() and (out / "checkpoints" / "epoch_001.keras").is_file()


def test_nested_caedoctor_folders_are_checked_recursively(tmp_path):
    demo = tmp_path / "demo"
    prepare(demo)
    _run(demo / "seed_bad")  # created inside a caedoctor folder: claimed there
    assert "seed_bad" in json.loads((demo / MARKER).read_text())["outputs"]
    (demo / "seed_bad" / "mine.txt").write_text("mine")
    assert [p.name for p in foreign_entries(demo)] == ["mine.txt"]
    with pytest.raises(OutputFolderError, match="seed_bad/mine.txt"):
        prepare(demo, force=True)
    assert (demo / "seed_bad" / "mine.txt").is_file()
    (demo / "seed_bad" / "mine.txt").unlink()
    prepare(demo, force=True)
    assert not (demo / "seed_bad").exists()


def test_claim_never_overwrites_a_file_it_did_not_write(tmp_path):
    shared = tmp_path / "project"
    shared.mkdir()
    (shared / "report.html").write_text("the user's report")
    (shared / "code.py").write_text("x = 1")
    with pytest.raises(OutputFolderError, match="report.html already exists"):
        check_claim(shared, ["report.html"])
    with pytest.raises(OutputFolderError, match="nothing was overwritten"):
        claim(shared, ["report.html"])
    assert (shared / "report.html").read_text() == "the user's report"
    assert not (shared / MARKER).exists()
    # A new name in the user's folder is claimed alone: --force there still refuses (code.py is not ours).
    claim(shared, ["repair.json"])
    claim(shared, ["repair.json"])  # claimed: may be overwritten
    with pytest.raises(OutputFolderError, match="did not write"):
        prepare(shared, force=True)
    assert (shared / "code.py").is_file()


def test_a_damaged_marker_proves_nothing(tmp_path):
    out = _run(tmp_path / "run")
    (out / MARKER).write_text("{not json")
    with pytest.raises(OutputFolderError, match="damaged"):
        prepare(out, force=True)
    assert (out / "metrics.json").is_file()


def test_write_report_refuses_to_replace_a_users_report(tmp_path):
    from caedoctor.diagnosis import Diagnosis
    from caedoctor.report import write_report

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "report.html").write_text("<p>the user's</p>")
    diagnosis = Diagnosis(verdict="converging", findings=[], probe=None, lr_find=None, elapsed_s=0.0, model="m",
                          data="d")
    with pytest.raises(OutputFolderError, match="report.html already exists"):
        write_report(diagnosis, folder)
    assert (folder / "report.html").read_text() == "<p>the user's</p>"
    path = write_report(diagnosis, tmp_path / "new")
    assert path.read_text().startswith("<!") and write_report(diagnosis, tmp_path / "new") == path
