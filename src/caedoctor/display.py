"""How caedoctor's results show themselves: compact text for terminals and `print`, the HTML report inline
in Jupyter (`_repr_html_`).

`Diagnosis` (diagnosis/), `RepairResult` (repairing/) and `CheckResult` (checks/) take these mixins, so this
module sits below them, and below the report that draws them. It never imports the report: the report layer
registers its renderers here (`caedoctor.report.renderers.RENDERERS`), as IPython's formatters are given a
function per type. `caedoctor/__init__.py`, which runs before any `caedoctor.*` module, names the report as
the source with `register_renderers`; the report is imported the first time a result is shown, so
`print(diagnosis)` gives the text however the result was made (`caedoctor.diagnose`, or
`from caedoctor.diagnosis import diagnose`) and `import caedoctor` stays instant.

- `str(result)` / `print(result)` and IPython's terminal (`_repr_pretty_`): a few lines, the verdict first.
- `_repr_html_`: in a notebook, the same self-contained report `write_report` writes (images inline as
  `data:` URIs, no JavaScript), with its CSS scoped to the report.
- `repr(result)` stays the dataclass's (or the list's) exact form for debugging.
"""

from __future__ import annotations

from typing import Callable

# The data and model a diagnosis ran on, kept on the result for the inline report's reconstructions.
_INPUTS = "_report_inputs"

# What each result shows, by name ("diagnosis_text", "diagnosis_html", "repair_text", "repair_html",
# "check_html"): a function of the result that returns a string. Filled from `_source` on first use.
_renderers: dict[str, Callable] = {}
_source: Callable[[], dict] | None = None


def register_renderers(source: Callable[[], dict]) -> None:
    """Show results with the renderers `source()` returns (`{name: function(result) -> str}`).

    `source` is called the first time a result is shown, not now, so the layer that draws the results is
    imported only when one is drawn. Registering again replaces the renderers.
    """
    global _source
    _source = source
    _renderers.clear()


def _render(name: str, result) -> str:
    if not _renderers and _source is not None:
        _renderers.update(_source())
    try:
        render = _renderers[name]
    except KeyError:
        raise LookupError(f"no renderer {name!r} is registered (caedoctor.display.register_renderers; "
                          f"registered: {', '.join(sorted(_renderers)) or 'none'})") from None
    return render(result)


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
        return _render("diagnosis_text", self)

    def _repr_html_(self) -> str:
        return _render("diagnosis_html", self)


class RepairDisplay(_Shown):
    """Display for `RepairResult`: before and after with the changes as text, the report as HTML."""

    def __str__(self) -> str:
        return _render("repair_text", self)

    def _repr_html_(self) -> str:
        return _render("repair_html", self)


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
        return _render("check_html", self)
