"""Session fixtures of the HTML report tests: one real tiny diagnosis (see `report_fixtures`) and its report."""

from __future__ import annotations

from pathlib import Path

import pytest

from .report_fixtures import build_tiny_run


@pytest.fixture(scope="session")
def tiny_run():
    return build_tiny_run()


@pytest.fixture(scope="session")
def report_path(tiny_run, tmp_path_factory) -> Path:
    """The report of `tiny_run`, written once per session."""
    from caedoctor.report.html import write_report

    diagnosis, data, loaded, repair = tiny_run
    return write_report(diagnosis, tmp_path_factory.mktemp("report"), data=data, loaded=loaded, repair=repair)
