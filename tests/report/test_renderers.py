"""Results show themselves through the renderers the report registers: `print(diagnosis)` is the report's
text and `_repr_html_` its page, however the result was made, while `caedoctor.display` (below the results)
never imports the report."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def test_a_diagnosis_made_without_the_top_level_api_prints_the_report_text():
    """Only `caedoctor.diagnosis` (and the findings) imported, in a fresh interpreter: the report is not
    loaded until the result is shown, and then it is, by the registration in `caedoctor/__init__.py`."""
    code = textwrap.dedent("""\
        import json, sys
        from caedoctor.diagnosis import Diagnosis
        from caedoctor.findings import Finding, Fix

        fix = Fix("learning_rate", {"learning_rate": 1e-3}, "set the learning rate to 0.001")
        d = Diagnosis(verdict="stuck", findings=[Finding("CAE501", "learning_rate_too_high", "warning",
                      "adam at 0.1 is 10x above the usual range", fix=fix)], probe=None, lr_find=None,
                      elapsed_s=1.5, model="preset:seed_hyper_bad", data="bundled:patches32")
        before = "caedoctor.report.renderers" in sys.modules
        text = str(d)
        page = d._repr_html_()
        print(json.dumps({"before": before, "text": text, "page": page[:200]}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    shown = json.loads(out.stdout.strip().splitlines()[-1])
    assert shown["before"] is False
    assert shown["text"].splitlines()[0] == "verdict: stuck  (preset:seed_hyper_bad on bundled:patches32, 1.5 s)"
    assert "suspected, not tested\n  CAE501 learning_rate_too_high: adam at 0.1 is 10x above the usual range" \
        in shown["text"]
    assert shown["page"].startswith('<div class="caedoctor-report">')


def test_display_shows_with_what_is_registered(monkeypatch):
    """The mixins call the registered renderer by name, and say so when none is registered."""
    import pytest

    from caedoctor import display
    from caedoctor.diagnosis import Diagnosis

    d = Diagnosis(verdict="converging", findings=[], probe=None, lr_find=None, elapsed_s=0.1)
    monkeypatch.setattr(display, "_renderers", {})
    monkeypatch.setattr(display, "_source", lambda: {"diagnosis_text": lambda r: f"text of {r.verdict}"})
    assert str(d) == "text of converging"
    with pytest.raises(LookupError, match="no renderer 'diagnosis_html' is registered"):
        d._repr_html_()
