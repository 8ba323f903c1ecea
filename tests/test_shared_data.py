"""Tests find ../shared/data wherever CI puts the clone, and a skipped test is always reported with its reason."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import SHARED_DATA_ENV, find_shared_data


def test_shared_data_is_found_above_the_clone_through_a_symlink_or_by_the_environment(tmp_path):
    data = tmp_path / "ci" / "shared" / "data"
    data.mkdir(parents=True)
    repo = tmp_path / "ci" / "work" / "caedoctor"
    repo.mkdir(parents=True)
    assert find_shared_data(repo, {}) == data  # beside a folder above the clone
    link = tmp_path / "elsewhere" / "clone"
    link.parent.mkdir()
    link.symlink_to(repo)
    assert find_shared_data(link, {}).resolve() == data.resolve()  # only the resolved path leads to it
    assert find_shared_data(link, {SHARED_DATA_ENV: "/data/shared"}) == Path("/data/shared")
    lonely = tmp_path / "lonely" / "caedoctor"
    lonely.mkdir(parents=True)
    assert find_shared_data(lonely, {}) == lonely.parent / "shared" / "data"  # where it was expected


def test_every_run_ends_with_the_number_of_skipped_tests_and_why(tmp_path):
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_a.py").write_text(
        "import pytest\n"
        "def test_runs():\n    pass\n"
        "def test_needs_data():\n    pytest.skip('shared test data not found at /nowhere')\n"
        "@pytest.mark.parametrize('i', [1, 2])\n"
        "def test_gpu(i):\n    pytest.skip('no GPU')\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "3 tests SKIPPED" in run.stdout, run.stdout
    assert "2 x no GPU" in run.stdout and "1 x shared test data not found at /nowhere" in run.stdout
    assert SHARED_DATA_ENV in run.stdout
    (tmp_path / "test_a.py").write_text("def test_runs():\n    pass\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "no test skipped" in run.stdout, run.stdout
