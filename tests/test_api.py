"""The top-level API: every documented name importable from `caedoctor` (with `import caedoctor` still
instant), each docstring example run, and each result shown as text and as the inline HTML report."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
import textwrap

import pytest

import caedoctor

PUBLIC = ["diagnose", "repair", "check", "write_report", "Diagnosis", "RepairResult", "Finding", "Fix",
          "CheckResult", "autolog", "last_diagnosis", "load_data", "log_to_mlflow", "write_tensorboard"]


def test_import_is_instant_and_lazy():
    code = "import caedoctor, sys; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"
    assert set(PUBLIC) <= set(dir(caedoctor))


def test_repair_is_a_plain_function_whatever_is_imported():
    """`caedoctor.repair` is `caedoctor.api.repair` even after every submodule is imported (importing a submodule
    sets it as an attribute of its parent, which is why the stage's package is `caedoctor.repairing`), and no
    module's class is replaced to make it callable. A fresh interpreter, so that no import came before."""
    code = textwrap.dedent("""\
        import importlib, inspect, json, pkgutil, sys, types
        import caedoctor
        for info in pkgutil.walk_packages(caedoctor.__path__, "caedoctor."):
            importlib.import_module(info.name)
        import caedoctor.api
        from caedoctor import repair
        print(json.dumps({
            "function": inspect.isfunction(caedoctor.repair),
            "same": repair is caedoctor.repair is caedoctor.api.repair,
            "imported": sorted(n for n in sys.modules if n.startswith("caedoctor.")),
            "replaced": sorted(n for n, m in sys.modules.items()
                               if n.split(".")[0] == "caedoctor" and type(m) is not types.ModuleType),
        }))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"caedoctor.repairing.procedure", "caedoctor.commands.repair", "caedoctor.api"} <= set(result["imported"])
    assert result["function"] and result["same"]
    assert result["replaced"] == []


# A result type's example continues the example of the function that makes it (one repair, not two).
CONTINUES = {"RepairResult": "repair", "Diagnosis": "diagnose"}


def _examples(obj) -> list[str]:
    doc = inspect.getdoc(obj) or ""
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    for match in re.finditer(r"Example[^\n]*::\n\n((?:(?:    .*)?\n)+)", doc + "\n"):
        blocks.append(textwrap.dedent(match.group(1)))
    return blocks


def _run_examples(name: str, namespace: dict) -> dict:
    examples = _examples(getattr(caedoctor, name))
    assert examples, f"caedoctor.{name} has no example in its docstring"
    try:
        for code in examples:
            exec(compile(code, f"<example of caedoctor.{name}>", "exec"), namespace)
    finally:
        caedoctor.autolog(disable=True)
    return namespace


@pytest.fixture(scope="module")
def example_namespaces(tmp_path_factory):
    """The namespaces left by the examples that others continue (run once each)."""
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("examples"))
    try:
        return {name: _run_examples(name, {"__name__": "__example__"}) for name in set(CONTINUES.values())}
    finally:
        os.chdir(cwd)


@pytest.mark.e2e
@pytest.mark.parametrize("name", PUBLIC)
def test_docstring_examples_run(name, tmp_path, monkeypatch, capsys, example_namespaces):
    monkeypatch.chdir(tmp_path)
    if name in example_namespaces:
        return  # ran (and was checked for output) when the fixture ran it
    start = dict(example_namespaces[CONTINUES[name]]) if name in CONTINUES else {"__name__": "__example__"}
    _run_examples(name, start)
    assert capsys.readouterr().out.strip(), "the example prints what it shows"


@pytest.mark.e2e
def test_continued_examples_printed(example_namespaces):
    assert example_namespaces["repair"]["result"].changes is not None
    assert example_namespaces["diagnose"]["d"].verdict


# ---------------------------------------------------------------- display


@pytest.fixture(scope="module")
def diagnosis():
    from tiny import blobs, compiled, tiny_cae

    import keras

    keras.utils.set_random_seed(0)
    return caedoctor.diagnose(compiled(tiny_cae(), lr=0.3), blobs(96), steps=25, quick=True, progress=None)


def test_diagnosis_prints_compact_text(diagnosis):
    text = str(diagnosis)
    assert text.startswith(f"verdict: {diagnosis.verdict}")
    assert "[" not in text.splitlines()[0]  # rich markup rendered, not printed
    from IPython.lib.pretty import pretty

    assert pretty(diagnosis) == text  # IPython's terminal shows the same
    assert repr(diagnosis).startswith("Diagnosis(verdict=")  # the exact form stays for debugging


def test_diagnosis_html_is_the_report_scoped_with_images_and_no_script(diagnosis):
    html = diagnosis._repr_html_()
    assert html.startswith('<div class="caedoctor-report">')
    assert "<script" not in html.lower() and "<html" not in html and "<body" not in html
    assert html.count("data:image/png;base64,") >= 3  # probe curve, gradients, reconstructions, ...
    assert "no data was given to the report" not in html  # the data was kept for the reconstructions
    assert diagnosis.verdict.replace("_", " ") in html
    style = re.search(r"<style>(.*?)</style>", html, flags=re.S).group(1)
    for rule in re.findall(r"([^{}]+)\{[^{}]*\}", style):
        for selector in rule.split(","):
            selector = selector.strip()
            if selector and not selector.startswith("@"):
                assert selector.startswith(".caedoctor-report"), selector


def test_scope_css_handles_root_body_and_media():
    from caedoctor.report.notebook import scope_css

    css = ":root { --a: 1; } body { margin: 0; } h1, .x p { color: red; } @media (max-width: 9px) { .g { a: b; } }"
    scoped = scope_css(css)
    assert ".caedoctor-report { --a: 1; }" in scoped and ".caedoctor-report { margin: 0; }" in scoped
    assert ".caedoctor-report h1, .caedoctor-report .x p" in scoped
    assert "@media (max-width: 9px) { .caedoctor-report .g { a: b; } }" in scoped


def test_check_result_is_still_a_list():
    findings = caedoctor.check("preset:seed_hyper_bad")
    assert isinstance(findings, list) and isinstance(findings, caedoctor.CheckResult)
    assert findings == list(findings) and findings[:1] == [findings[0]]
    codes = [f.code for f in findings]
    assert "CAE501" in codes
    text = str(findings)
    assert text.splitlines()[0].startswith("caedoctor check: ") and len(text.splitlines()) == len(findings) + 1
    html = findings._repr_html_()
    assert html.count("<tr>") == len(findings) + 1 and "CAE501" in html and "<script" not in html


@pytest.mark.e2e
def test_repair_result_shows_itself(example_namespaces):
    result = example_namespaces["repair"]["result"]
    text = str(result)
    assert text.splitlines()[0].startswith(("repaired", "not repaired"))
    assert f"verdict: {result.diagnosis.verdict}" in text
    html = result._repr_html_()
    assert html.startswith('<div class="caedoctor-report">') and "data:image/png;base64," in html


def test_notebook_progress_bar_updates_in_place(monkeypatch):
    """In a kernel the diagnosis's stages drive one HTML progress bar, updated through its display handle."""
    from caedoctor import progress as P

    shown = []

    class Handle:
        def update(self, obj):
            shown.append(obj.data)

    import IPython.display

    monkeypatch.setattr(P, "in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda obj, display_id=None: shown.append(obj.data) or Handle())
    with P.progress_for("auto", "diagnosis") as say:
        say("static checks")
        say("probe run (25 steps)")
    assert len(shown) == 4 and all("<progress" in h for h in shown)
    assert "stage 2: probe run (25 steps)" in shown[2] and 'value="1"' in shown[3] and "done in" in shown[3]
    assert "<script" not in "".join(shown)
