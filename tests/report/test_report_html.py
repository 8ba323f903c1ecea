"""The HTML report: one self-contained file, every figure an inline PNG, user strings escaped, the verdict and
the evidence shown, and missing parts shown as "not measured" rather than failing."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import pytest

from .report_fixtures import EVIL_LAYER, EVIL_SCRIPT, REAL_LAYER

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def visible_text(html: str) -> str:
    return " ".join(" ".join(parse(html).text).split())


def test_one_self_contained_file(report_path):
    assert report_path.name == "report.html"
    # no side files, no temp file; only the marker that says caedoctor wrote report.html (caedoctor.out_folder)
    assert sorted(p.name for p in report_path.parent.iterdir()) == [".caedoctor-outputs.json", "report.html"]
    html = report_path.read_text("utf-8")
    tags = parse(html).tags
    for tag, attrs in tags:
        for name in ("src", "href", "srcset", "action", "poster", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "file:")), f"<{tag} {name}={value[:60]!r}>"
        if tag == "a":
            assert attrs.get("href", "#").startswith("#"), attrs
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", html, re.I)
    assert not [t for t, _ in tags if t in ("script", "link", "iframe", "object", "embed", "base")]
    assert "@import" not in html and "url(" not in html  # nothing fetched from CSS either


def test_every_image_is_an_inline_png(report_path, tiny_run):
    from PIL import Image

    diagnosis = tiny_run[0]
    images = [attrs for tag, attrs in parse(report_path.read_text("utf-8")).tags if tag == "img"]
    # probe curves, gradient norms, dead/saturated units, reconstructions, before/after (+ LR test when built)
    expected = 5 + (1 if diagnosis.lr_find else 0)
    assert len(images) == expected
    for attrs in images:
        src = attrs["src"]
        assert src.startswith("data:image/png;base64,"), src[:40]
        raw = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert raw.startswith(PNG_MAGIC)
        with Image.open(io.BytesIO(raw)) as img:
            img.verify()
            assert img.size[0] > 100 and img.size[1] > 100
        assert attrs.get("alt"), "every figure says what it shows"


def test_user_controlled_strings_are_escaped(report_path):
    html = report_path.read_text("utf-8")
    assert EVIL_SCRIPT not in html and EVIL_LAYER not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # recorded layer name and model path
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # finding message and fix description
    assert REAL_LAYER.replace(">", "&gt;") in html  # a real Keras layer name
    tags = parse(html).tags
    assert not [a for t, a in tags if any(k.startswith("on") for k in a)], "no event-handler attribute"
    # ...and the escaped text reads back as the user's own string
    text = visible_text(html)
    assert EVIL_SCRIPT in text and EVIL_LAYER in text and REAL_LAYER in text


def test_verdict_causes_and_evidence_are_shown(report_path, tiny_run):
    diagnosis = tiny_run[0]
    html = report_path.read_text("utf-8")
    assert re.search(r'<header class="banner bad"', html)  # not_converging is a red banner
    text = visible_text(html)
    assert "not converging" in text
    confirmed, refuted = text.split("Not a cause here", 1)
    assert "CAE201" in confirmed and "learning rate too low" in confirmed
    lr_effect = diagnosis.findings[0].effect
    assert f"{lr_effect.before:.4g} → {lr_effect.after:.4g}" in confirmed  # the measured numbers
    assert "CAE110" in refuted.split("Suspected, not tested")[0]
    assert "budget spent" in text  # why CAE105 stayed suspected
    for section in ("Probe loss curves", "Per-layer gradient norms", "Dead and saturated units per layer",
                    "Reconstructions", "Data profile", "Changes made"):
        assert section in text
    assert "Could not draw" not in text
    assert "rolled back" in text and "kept" in text.split("Changes made", 1)[1]
    assert "0.003" in text.split("Changes made", 1)[1]  # the change's parameter


def test_missing_parts_say_not_measured(tmp_path):
    """An invalid model: no probe, no monitor, no data, no repair; an LR result given as JSON-shaped data."""
    from caedoctor.diagnosis import Diagnosis
    from caedoctor.findings import Finding, Fix
    from caedoctor.report.html import write_report

    finding = Finding("CAE001", "shape_mismatch", "error", "output 14x14 but target 16x16", status="certain",
                      evidence={"output": [14, 14, 1], "target": [16, 16, 1]},
                      fix=Fix("crop_or_pad_output", {"output_shape": [14, 14, 1], "target_shape": [16, 16, 1]},
                              "pad the output to 16x16"))
    lrs = [1e-5 * 1.2**i for i in range(40)]
    lr_find = {"lrs": lrs, "losses": [0.1 - 0.001 * i for i in range(40)],
               "smoothed": [0.1 - 0.001 * i for i in range(40)], "suggestion": 3e-4, "stopped": "blow-up"}
    diagnosis = Diagnosis(verdict="invalid", findings=[finding], probe=None, lr_find=lr_find, elapsed_s=0.2,
                          model="spec.yaml", data="x.npz")
    path = write_report(diagnosis, tmp_path / "nested" / "out")
    html = path.read_text("utf-8")
    text = visible_text(html)
    assert "invalid" in text and "CAE001" in text and "pad the output to 16x16" in text
    assert text.count("Not measured") >= 5  # probes, gradients, units, reconstructions, data, changes
    assert "Could not draw" not in text
    assert "Suggested learning rate: 0.0003" in text
    assert len([a for t, a in parse(html).tags if t == "img"]) == 1  # the LR curve alone


def test_a_partial_diagnosis_says_so_at_the_top(tmp_path):
    """The budget left suspicions untested: the banner says so before the causes; a held-back finding shows why."""
    from caedoctor.diagnosis import Diagnosis
    from caedoctor.report.html import write_report

    from tiny import rate_untested_and_saturation_held_back

    rate, held = rate_untested_and_saturation_held_back()
    reason = ("the time budget (120 s) was spent: 1 suspicion not tested (learning_rate_too_high CAE501); the full "
              "diagnosis needs about 210 s: rerun with --budget-seconds 240")
    diagnosis = Diagnosis(verdict="not_converging", findings=[rate, held], probe=None, lr_find=None, elapsed_s=119.0,
                          partial=True, partial_reason=reason, full_seconds=210.0,
                          untested=[{"code": "CAE501", "cause": "learning_rate_too_high",
                                     "reason": "the time budget (120 s) was spent", "test": "counterfactual"}])
    text = visible_text(write_report(diagnosis, tmp_path).read_text("utf-8"))
    assert "Partial diagnosis. " + reason in text
    assert text.index("Partial diagnosis") < text.index("Causes")
    suspected = text.split("Suspected, not tested or held back", 1)[1]
    assert "CAE708" in suspected and "which can cause saturated units by itself" in suspected
    complete = Diagnosis(verdict="converging", findings=[], probe=None, lr_find=None, elapsed_s=1.0)
    assert "Partial diagnosis" not in visible_text(write_report(complete, tmp_path / "complete").read_text("utf-8"))


def test_report_of_a_real_diagnose_call(tiny_run, tmp_path):
    """`diagnose()` itself (quick: one probe), whatever the checks and detectors currently find."""
    from caedoctor.diagnosis import diagnose
    from caedoctor.report.html import write_report

    _, data, loaded, _ = tiny_run
    result = diagnose(loaded, data, steps=25, quick=True, lr_find_steps=0)
    text = visible_text(write_report(result, tmp_path, data=data, loaded=loaded).read_text("utf-8"))
    assert result.verdict.replace("_", " ") in text
    assert "Could not draw" not in text
    assert "Probe loss curves" in text and "original (baseline)" in text
    # the horizon the verdict is about, in the banner, as the terminal says it
    assert f"horizon: {result.horizon['steps']:,} training steps" in text.split("Probe loss curves")[0]


def test_the_report_reads_the_typed_results_without_duck_typing():
    """The report reads `Diagnosis`, `RepairResult`, `ProbeResult`, `MonitorRecord` and `LoadedModel` as they
    are: no getattr/hasattr fallbacks for fields they might lack (only Keras' optional `activation`)."""
    import inspect

    from caedoctor.report import html

    source = inspect.getsource(html)
    assert source.count("getattr(") == 2 and "hasattr(" not in source
    assert "getattr(layer, \"activation\"" in source


def test_write_report_refuses_a_file_as_folder(tmp_path):
    from caedoctor.diagnosis import Diagnosis
    from caedoctor.errors import CaedoctorError
    from caedoctor.report.html import write_report

    blocker = tmp_path / "report"
    blocker.write_text("not a folder")
    with pytest.raises(CaedoctorError, match="Received out_dir="):
        write_report(Diagnosis("converging", [], None, None, 0.0), blocker)
