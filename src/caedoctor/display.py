"""How caedoctor's results show themselves: compact text for terminals and `print`, the HTML report inline
in Jupyter (`_repr_html_`).

`Diagnosis` (diagnosis/), `RepairResult` (repair/) and `CheckResult` (checks/) take these mixins. The text
and HTML come from `caedoctor.report`, layers above the results: they are imported when a result is
displayed, never at import time. These late imports are an exception the import contract (pyproject.toml,
`[tool.importlinter]`) states, as deepchecks' results carry their own display: a result shows itself.

- `str(result)` / `print(result)` and IPython's terminal (`_repr_pretty_`): a few lines, the verdict first.
- `_repr_html_`: in a notebook, the same self-contained report `write_report` writes (images inline as
  `data:` URIs, no JavaScript), with its CSS scoped to the report.
- `repr(result)` stays the dataclass's (or the list's) exact form for debugging.
"""

from __future__ import annotations

import io

TEXT_WIDTH = 110

# The data and model a diagnosis ran on, kept on the result for the inline report's reconstructions.
_INPUTS = "_report_inputs"


def attach_inputs(result, *, data=None, loaded=None):
    """Remember on `result` the `Data` and `LoadedModel` it was computed from (for `_repr_html_`)."""
    try:
        object.__setattr__(result, _INPUTS, (data, loaded))
    except (AttributeError, TypeError):  # a result type without a __dict__: shown without reconstructions
        pass
    return result


def report_inputs(result) -> tuple:
    """`(data, loaded)` attached by `attach_inputs`, or `(None, None)`."""
    return getattr(result, "__dict__", {}).get(_INPUTS) or (None, None)


def _captured(print_fn, *args) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    # force_jupyter=False: in a kernel rich would display the text as a notebook output instead of returning it
    console = Console(file=buffer, width=TEXT_WIDTH, color_system=None, force_terminal=False, force_jupyter=False,
                      highlight=False, soft_wrap=True)  # one finding per line, not cut at the width
    print_fn(*args, console=console)
    return buffer.getvalue().rstrip()


class _Shown:
    """The IPython protocol shared by the results: pretty text is `str`."""

    def __init_subclass__(cls, **kwargs):
        # IPython takes the first class in the MRO that defines `_repr_pretty_` *or* `__repr__`; a dataclass
        # defines its own `__repr__`, so the method must sit in each subclass's own namespace.
        super().__init_subclass__(**kwargs)
        cls._repr_pretty_ = _Shown._repr_pretty_

    def _repr_pretty_(self, printer, cycle):
        printer.text(f"{type(self).__name__}(...)" if cycle else str(self))


class DiagnosisDisplay(_Shown):
    """Display for `Diagnosis`: the verdict and causes as text, the report as HTML."""

    def __str__(self) -> str:
        from caedoctor.report.text import print_diagnosis

        return _captured(print_diagnosis, self)

    def _repr_html_(self) -> str:
        from caedoctor.report.notebook import report_fragment

        data, loaded = report_inputs(self)
        return report_fragment(self, data=data, loaded=loaded)


class RepairDisplay(_Shown):
    """Display for `RepairResult`: before and after with the changes as text, the report as HTML."""

    def __str__(self) -> str:
        from caedoctor.report.text import print_repair

        text = _captured(print_repair, self, {})
        diagnosis = getattr(self, "diagnosis", None)
        return f"{text}\n\n{diagnosis}" if diagnosis is not None else text

    def _repr_html_(self) -> str:
        from caedoctor.report.notebook import report_fragment

        data, loaded = report_inputs(self)
        if data is None:
            data, loaded = report_inputs(getattr(self, "diagnosis", None))
        return report_fragment(self.diagnosis, data=data, loaded=loaded, repair=self)


class CheckResult(_Shown, list):
    """The findings of `caedoctor.check`: a list of `Finding`s, errors first, that also shows itself.

    It is a `list` (indexing, iteration, `len`, `==` with a list all work as before); `print` gives one line
    per finding, and a notebook shows a table.

    Example::

        import caedoctor
        findings = caedoctor.check("preset:seed_hyper_bad")
        print(findings)          # caedoctor check: 1 warning ... CAE501 warning learning_rate_too_high ...
        codes = [f.code for f in findings]
    """

    def __str__(self) -> str:
        counts = {s: sum(1 for f in self if f.severity == s) for s in ("error", "warning", "info")}
        summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n) or "no findings"
        lines = [f"caedoctor check: {summary}"]
        for f in self:
            fix = f"  fix: {f.fix.description}" if f.fix is not None and f.fix.description else ""
            lines.append(f"  {f.code} {f.severity:<7} {f.cause}: {f.message}{fix}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from caedoctor.report.notebook import check_html

        return check_html(self)
