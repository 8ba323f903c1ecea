"""What a result shows: the text `print` gives and the report a notebook shows, for each result type.

`Diagnosis`, `RepairResult` and `CheckResult` live below the report, so they cannot import it;
`caedoctor.display` calls the functions in `RENDERERS` instead (`caedoctor/__init__.py` registers them).
The text is the terminal text of `caedoctor diagnose` and `caedoctor repair` without colour; the HTML is the
page `write_report` writes, scoped for a notebook, with the data and model the result was made from when
they were kept (`caedoctor.display.attach_inputs`).
"""

from __future__ import annotations

import io

from caedoctor.display import report_inputs
from caedoctor.report.notebook import check_html, report_fragment
from caedoctor.report.text import print_diagnosis, print_repair

TEXT_WIDTH = 110


def _captured(print_fn, *args) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    # force_jupyter=False: in a kernel rich would display the text as a notebook output instead of returning it
    console = Console(file=buffer, width=TEXT_WIDTH, color_system=None, force_terminal=False, force_jupyter=False,
                      highlight=False, soft_wrap=True)  # one finding per line, not cut at the width
    print_fn(*args, console=console)
    return buffer.getvalue().rstrip()


def diagnosis_text(diagnosis) -> str:
    """The verdict and causes, as `caedoctor diagnose` prints them."""
    return _captured(print_diagnosis, diagnosis)


def diagnosis_html(diagnosis) -> str:
    """The report of the diagnosis as a notebook fragment."""
    data, loaded = report_inputs(diagnosis)
    return report_fragment(diagnosis, data=data, loaded=loaded)


def repair_text(result) -> str:
    """Before and after with the changes, then the diagnosis the repair started from."""
    text = _captured(print_repair, result, {})
    diagnosis = getattr(result, "diagnosis", None)
    return f"{text}\n\n{diagnosis_text(diagnosis)}" if diagnosis is not None else text


def repair_html(result) -> str:
    """The report of the diagnosis and its repair as a notebook fragment."""
    data, loaded = report_inputs(result)
    if data is None:
        data, loaded = report_inputs(getattr(result, "diagnosis", None))
    return report_fragment(result.diagnosis, data=data, loaded=loaded, repair=result)


RENDERERS = {
    "diagnosis_text": diagnosis_text,
    "diagnosis_html": diagnosis_html,
    "repair_text": repair_text,
    "repair_html": repair_html,
    "check_html": check_html,
}
