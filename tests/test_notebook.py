"""The example notebook, executed in a real Jupyter kernel (nbclient) on tiny data: autolog shows the
diagnosis inline (the verdict and inline images), repair shows before and after."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "autolog_repair.ipynb"


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return "".join(output.get("data", {}).get("text/plain", ""))


def _html(output) -> str:
    return "".join(output.get("data", {}).get("text/html", ""))


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    import os

    os.environ["CAEDOCTOR_NOTEBOOK_QUICK"] = "1"  # the kernel inherits it: tiny sizes
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        work = tmp_path_factory.mktemp("notebook")
        nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}}).execute()
    finally:
        os.environ.pop("CAEDOCTOR_NOTEBOOK_QUICK", None)
    return nb


def _cell(nb, startswith: str):
    return next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(startswith))


def test_notebook_copies_the_field_notes_verbatim():
    import re

    nbformat = pytest.importorskip("nbformat")
    notes = Path(__file__).resolve().parents[2] / "shared" / "field-notes.md"
    if not notes.exists():
        pytest.skip("../shared/field-notes.md not found")
    blocks = [b.rstrip("\n") for b in re.findall(r"```python\n(.*?)```", notes.read_text(), flags=re.S)]
    sources = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    assert len(blocks) == 3 and all(b in sources for b in blocks)


@pytest.mark.e2e
def test_healthy_fit_is_watched_and_not_diagnosed(executed):
    out = "".join(_text(o) for o in _cell(executed, "import caedoctor").outputs)
    assert "fit #1" in out and "no problem seen" in out


@pytest.mark.e2e
def test_diagnosis_shows_inline_with_verdict_and_images(executed):
    outputs = _cell(executed, "hyper_bad_cae.fit").outputs
    text = "".join(_text(o) for o in outputs)
    assert "the monitor saw" in text and "diagnosing the set-up recorded at the start of fit #2" in text
    reports = [_html(o) for o in outputs if 'class="caedoctor-report"' in _html(o)]
    assert len(reports) == 1
    report = reports[0]
    assert "data:image/png;base64," in report and "<script" not in report.lower()
    assert "not converging" in report or "diverging" in report
    progress = [_html(o) for o in outputs if "<progress" in _html(o)]
    assert progress and "done in" in progress[-1]  # the bar, updated in place to its end
    verdict = "".join(_text(o) for o in _cell(executed, "diagnosis = caedoctor.last_diagnosis()").outputs)
    assert "verdict: not_converging" in verdict or "verdict: diverging" in verdict


@pytest.mark.e2e
def test_repair_shows_before_and_after(executed):
    outputs = _cell(executed, "result = caedoctor.repair").outputs
    html = "".join(_html(o) for o in outputs)
    assert 'class="caedoctor-report"' in html and "data:image/png;base64," in html
    assert "repaired" in html
    numbers = "".join(_text(o) for o in _cell(executed, "before = result.original_metrics").outputs)
    assert "relative MSE (1.0 = predicting the mean image): before" in numbers
