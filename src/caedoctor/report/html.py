"""The HTML report: `write_report(diagnosis, out_dir)` writes the diagnosis as one self-contained page a person
can read.

People would rather look at a loss curve and a grid of reconstructions than read numbers, so the page shows
the verdict, the causes with the measurements that confirm or refute each one, and the figures behind them:
the probe loss curves (original vs each counterfactual), the LR range test, per-layer gradient norms, dead
and saturated units, reconstructions, the data profile and, after a repair, the changes made.

The page is one file: CSS inline, every figure a base64 PNG `data:` URI, no JavaScript, no network, so it
can be mailed, attached to an issue or opened from an air-gapped machine. Jinja2 autoescapes everything,
so layer names, paths and messages (all user-controlled) cannot inject markup. A part that was not measured
(no monitor, no LR range test, no repair) is shown as "not measured" instead of failing the report.

It reads the typed results as they are: a `Diagnosis` (with its `ProbeResult`s, the baseline's
`MonitorRecord` and the `LRFindResult`), a `RepairResult` and its `Change`s, the `Data` and `LoadedModel`.

Example:

```python
from caedoctor.diagnosis import diagnose
from caedoctor.report import write_report

result = diagnose("preset:seed_hyper_bad", "bundled:patches32")
print(write_report(result, "runs/report"))  # runs/report/report.html
```
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import warnings
from importlib import resources
from pathlib import Path

import numpy as np

from caedoctor.data import Data
from caedoctor.diagnosis import Diagnosis, LRFindResult
from caedoctor.diagnosis.horizon import horizon_line
from caedoctor.probing.probes import ProbeResult
from caedoctor.findings import Finding
from caedoctor.models import LoadedModel
from caedoctor.models.analysis import parameter_count
from caedoctor.monitor import MonitorRecord
from caedoctor.repairing.procedure import RepairResult
from caedoctor.reconstruction import reconstruct

REPORT_NAME = "report.html"
RECONSTRUCTION_SAMPLES = 8

VERDICT_TEXT = {
    "converging": ("good", "The model learns: its validation error falls well below predicting the mean image."),
    "slow": ("warn", "The model learns, but far more slowly than a healthy CAE of this size."),
    "not_converging": ("bad", "The model does not learn: after the probe it is little better than predicting "
                              "the mean image for every input."),
    "diverging": ("bad", "Training blows up: the loss grows or becomes NaN/Inf."),
    "unstable": ("warn", "The loss oscillates instead of settling."),
    "overfitting": ("warn", "The training loss falls while the validation loss rises."),
    "invalid": ("bad", "The model cannot be trained on this data (for example a shape mismatch or NaN in the data)."),
}
_METRIC_NAMES = {"relative_mse": "relative MSE", "dssim": "1 − SSIM", "mse": "MSE", "mae": "MAE",
                 "psnr": "PSNR (dB)", "ssim": "SSIM"}


def write_report(diagnosis: Diagnosis, out_dir, *, data: Data | None = None, loaded: LoadedModel | None = None,
                 repair: RepairResult | None = None) -> Path:
    """Write `out_dir/report.html` for `diagnosis` and return its path.

    Args:
        diagnosis: a `caedoctor.diagnosis.Diagnosis`.
        out_dir: folder to write into (created when missing); a report.html caedoctor wrote there is replaced.
        data: the `Data` the diagnosis ran on, for reconstructions (without it they are "not measured");
            default: the data `caedoctor.diagnose` kept on the diagnosis.
        loaded: the `LoadedModel` diagnosed, for the model and configuration tables (default: as `data`).
        repair: the `RepairResult` of `caedoctor repair` / `caedoctor.repair`, for the repaired reconstructions
            and the changes made.

    Raises:
        CaedoctorError: `out_dir` is a file or cannot be written, or holds a `report.html` caedoctor did not
            write (it is never overwritten; see `caedoctor.out_folder`).

    Example::

        import numpy as np, caedoctor

        x = np.random.default_rng(0).random((96, 16, 16, 1), dtype=np.float32)
        diagnosis = caedoctor.diagnose("preset:seed_better", x, steps=50, quick=True)
        print(caedoctor.write_report(diagnosis, "runs/report"))  # runs/report/report.html
    """
    from caedoctor.errors import CaedoctorError
    from caedoctor.out_folder import claim

    if data is None and loaded is None:
        from caedoctor.display import report_inputs

        data, loaded = report_inputs(diagnosis)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CaedoctorError(f"the report folder is a file, not a folder. Received out_dir={str(out)!r}")
    html = render_report(diagnosis, data=data, loaded=loaded, repair=repair)
    path = out / REPORT_NAME
    tmp = out / f".{REPORT_NAME}.tmp"
    try:
        claim(out, [REPORT_NAME])
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, path)  # a reader never sees half a page
    except OSError as exc:
        raise CaedoctorError(f"cannot write the report: {exc.strerror or exc}. Received out_dir={str(out)!r}") from None
    return path


def render_report(diagnosis: Diagnosis, *, data: Data | None = None, loaded: LoadedModel | None = None,
                  repair: RepairResult | None = None) -> str:
    """The report as an HTML string (see `write_report`)."""
    import jinja2

    template_text = resources.files("caedoctor.report").joinpath("templates", "report.html.j2").read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["pct"] = _pct
    return env.from_string(template_text).render(**build_context(diagnosis, data=data, loaded=loaded,
                                                                 repair=repair))


# ------------------------------------------------------------------ context

def build_context(diagnosis: Diagnosis, *, data: Data | None = None, loaded: LoadedModel | None = None,
                  repair: RepairResult | None = None) -> dict:
    """Everything the template shows, as plain data (strings, numbers, lists, dicts, data URIs)."""
    from caedoctor.version import __version__

    verdict = diagnosis.verdict or "unknown"
    tone, sentence = VERDICT_TEXT.get(verdict, ("warn", ""))
    record = _monitor_record(diagnosis.baseline)
    return {
        "verdict": verdict,
        "verdict_label": verdict.replace("_", " "),
        "verdict_tone": tone,
        "verdict_sentence": sentence,
        "model_name": diagnosis.model or (loaded.source if loaded is not None else "") or "model",
        "data_name": diagnosis.data or (data.name if data is not None else "") or "data",
        "elapsed_s": _float(diagnosis.elapsed_s),
        "version": __version__,
        "generated": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "probe": _probe_summary(diagnosis),
        "horizon": horizon_line(diagnosis.horizon),
        "partial": _partial(diagnosis),
        "causes": _section("causes", _causes, diagnosis),
        "symptoms": _section("symptoms", _symptoms, diagnosis),
        "probes": _section("probe curves", _probes, diagnosis),
        "lr": _section("LR range test", _lr, diagnosis),
        "gradients": _section("gradient norms", _gradients, record),
        "units": _section("dead and saturated units", _units, record),
        "output": _section("output signals", _output_signals, record),
        "recon": _section("reconstructions", _reconstructions, diagnosis, data, repair),
        "profile": _section("data profile", _profile, diagnosis, data),
        "model": _section("model", _model, loaded),
        "changes": _section("changes", _changes, diagnosis, repair),
        "timings": _section("time", _timings, diagnosis),
    }


def _partial(diagnosis: Diagnosis) -> dict | None:
    """What the time budget left undone (`Diagnosis.partial_reason`, `untested`), or None when it is complete."""
    if not diagnosis.partial:
        return None
    untested = [{"code": u.get("code") or "", "cause": str(u.get("cause") or "").replace("_", " "),
                 "reason": u.get("reason") or ""} for u in diagnosis.untested]
    return {"reason": diagnosis.partial_reason or "", "untested": untested,
            "full_seconds": _float(diagnosis.full_seconds)}


def _timings(diagnosis: Diagnosis) -> dict:
    """Where the time went (`Diagnosis.timings`) and what the budget plan said (`Diagnosis.plan`)."""
    t, plan = diagnosis.timings or {}, diagnosis.plan or {}
    stages = [{"name": k, "seconds": _float(v)} for k, v in (t.get("stages") or {}).items()]
    parts = [{"name": k, "seconds": _float(v)} for k, v in (t.get("probe_parts") or {}).items()]
    return {"stages": stages, "parts": parts, "total": _float(t.get("total")),
            "budget": _float(plan.get("budget_seconds")), "said": list(plan.get("said") or [])}


def _section(name: str, build, *args) -> dict:
    """Build one section; a failure shows in that section ("could not draw") instead of losing the page."""
    try:
        result = build(*args)
    except Exception as exc:  # noqa: BLE001 - one broken figure must not cost the user the whole report
        warnings.warn(f"report section {name!r} failed: {type(exc).__name__}: {exc}", stacklevel=2)
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"error": None, **result}


# ------------------------------------------------------------------ causes

def _causes(diagnosis: Diagnosis) -> dict:
    return {"confirmed": [_finding(f) for f in diagnosis.confirmed()],
            "refuted": [_finding(f) for f in diagnosis.refuted()],
            "suspected": [_finding(f) for f in diagnosis.suspected()], "total": len(diagnosis.findings)}


def _finding(f: Finding) -> dict:
    evidence = dict(f.evidence)
    not_tested = evidence.pop("not_tested", None) or evidence.pop("held_back", None)
    return {
        "code": f.code, "cause": f.cause.replace("_", " "), "severity": f.severity,
        "status": f.status, "message": f.message,
        "effect": _effect(f.effect.metric, f.effect.before, f.effect.after) if f.effect is not None else None,
        "fix": (f.fix.description or f.fix.kind) if f.fix is not None else None,
        "fix_kind": f.fix.kind if f.fix is not None else None,
        "evidence": [(str(k), _value(v)) for k, v in evidence.items()],
        "not_tested": str(not_tested) if not_tested else None,
    }


def _effect(metric, before, after) -> dict:
    before, after = _float(before), _float(after)
    change = None
    if before is not None and after is not None and before > 0 and math.isfinite(before) and math.isfinite(after):
        change = (after - before) / before
    return {"metric": _METRIC_NAMES.get(metric, str(metric)), "before": before, "after": after, "change": change,
            "better": change is not None and change < 0}


def _symptoms(diagnosis: Diagnosis) -> dict:
    """The detectors' verdicts (`Symptom.to_dict()`s) and the seed-noise margins."""
    rows = [{"name": s["name"].replace("_", " "), "present": bool(s["present"]), "cause": s.get("cause") or "",
             "evidence": _value(s.get("evidence", {}))} for s in diagnosis.symptoms]
    noise = [{"metric": _METRIC_NAMES.get(m, m), "margin": _float(v["margin"]),
              "baseline": _float(v["baseline"]), "reseeded": _float(v["reseeded"])}
             for m, v in (diagnosis.noise or {}).items()]
    return {"rows": rows, "noise": noise}


# ------------------------------------------------------------------ probes

def _probe_summary(diagnosis: Diagnosis) -> dict | None:
    probe = diagnosis.probe  # `ProbeResult.summary()` of the baseline
    if not probe:
        return None
    return {"steps_run": probe["steps_run"], "seconds": _float(probe["seconds"]),
            "relative": _float(probe["relative_loss"]), "stopped": probe["stopped"] or ""}


def _probes(diagnosis: Diagnosis) -> dict:
    results = {k: v for k, v in diagnosis.probe_results.items() if isinstance(v, ProbeResult)}
    if "baseline" not in results and diagnosis.baseline is not None:
        results = {"baseline": diagnosis.baseline, **results}
    if not results:
        return {"image": None, "rows": []}
    described = {f"{cf['finding']}:{cf['fix']['kind']}": cf["fix"]["description"] or cf["fix"]["kind"]
                 for cf in diagnosis.counterfactuals}
    curves, rows = [], []
    for key, result in results.items():
        kind = "baseline" if key == "baseline" else "reseeded" if key == "reseeded" else "counterfactual"
        code, _, kind_of_fix = key.partition(":")
        label = {"baseline": "original (baseline)", "reseeded": "original, another seed (noise)"}.get(
            key, f"{code}: {described.get(key) or kind_of_fix or result.label}")
        curve = list(result.loss_curve)
        chunk = (result.steps_run / len(curve)) if curve and result.steps_run else 25
        curves.append({"label": label, "steps": [chunk * (i + 1) for i in range(len(curve))], "loss": curve,
                       "kind": kind})
        m = result.metrics
        rows.append({"label": label, "kind": kind, "steps_run": result.steps_run, "seconds": _float(result.seconds),
                     "relative_mse": _float(m.get("relative_mse")), "psnr": _float(m.get("psnr")),
                     "ssim": _float(m.get("ssim")),
                     "stopped": (f"decided at step {result.decided_at}" if result.decided_at is not None
                                 and result.steps_run < result.steps else result.stopped)})
    from caedoctor.report import figures as fig

    drawable = any(np.isfinite(np.asarray(c["loss"], float)).any() for c in curves)
    return {"image": fig.probe_curves(curves) if drawable else None, "rows": rows}


# The parts of an LR range test drawn as its figure; the rest of `LRFindResult.to_dict()` is listed.
_LR_CURVE = ("lrs", "losses", "smoothed", "suggestion")


def _lr(diagnosis: Diagnosis) -> dict:
    """The LR range test: the `LRFindResult` the diagnosis ran, else its JSON form in `Diagnosis.lr_find`
    (`LRFindResult.to_dict()`, or {"suggestion": None, "error": ...} when the test could not run)."""
    result = diagnosis.probe_results.get("lr_find")
    found = result.to_dict() if isinstance(result, LRFindResult) else dict(diagnosis.lr_find or {})
    if not found:
        return {"image": None, "suggestion": None, "details": []}
    lrs, losses, smoothed = found.get("lrs"), found.get("losses"), found.get("smoothed")
    suggestion = _float(found.get("suggestion"))
    image = None
    if lrs and losses:
        from caedoctor.report import figures as fig

        image = fig.lr_range(lrs, losses, smoothed, suggestion)
    details = [(str(k), _value(v)) for k, v in found.items() if k not in _LR_CURVE]
    return {"image": image, "suggestion": suggestion, "details": details}


# ------------------------------------------------------------------ monitor

def _monitor_record(baseline: ProbeResult | None) -> MonitorRecord | None:
    """The baseline probe's `MonitorRecord`, or None when it ran without a monitor (or did not run)."""
    if baseline is None or baseline.monitor is None:
        return None
    return baseline.monitor.record


def _layer_order(record: MonitorRecord, names) -> list:
    order = list(record.layers)
    return [n for n in order if n in names] + [n for n in names if n not in order]


def _gradients(record: MonitorRecord | None) -> dict:
    if record is None or not record.grad_norms or not record.probe_steps:
        return {"image": None, "rows": []}
    from caedoctor.report import figures as fig

    names = _layer_order(record, list(record.grad_norms))
    ordered = {n: record.grad_norms[n] for n in names}
    rows = []
    for n in names:
        finite = [v for v in (_float(x) for x in ordered[n]) if v is not None]
        ratios = [v for v in (_float(x) for x in record.update_ratios.get(n, [])) if v is not None]
        rows.append({"layer": n, "first": finite[0] if finite else None, "last": finite[-1] if finite else None,
                     "update_ratio": ratios[-1] if ratios else None})
    return {"image": fig.grad_norms([s + 1 for s in record.probe_steps], ordered), "rows": rows}


def _units(record: MonitorRecord | None) -> dict:
    if record is None:
        return {"image": None, "rows": []}
    panels, rows = [], []
    for traces, title, colour, kind in (
            (record.dead_fraction, "dead ReLU units", "#dc2626", "dead (ReLU)"),
            (record.saturated_fraction, "saturated sigmoid/tanh units", "#d97706", "saturated (sigmoid/tanh)")):
        panel_rows = []
        for name in _layer_order(record, list(traces)):
            finite = [v for v in (_float(x) for x in traces[name]) if v is not None]
            if not finite:
                continue
            panel_rows.append((name, finite[0], finite[-1]))
            rows.append({"layer": name, "kind": kind, "first": finite[0], "last": finite[-1], "max": max(finite),
                         "output": name == record.output_layer})
        if panel_rows:
            panels.append({"title": title, "rows": panel_rows, "colour": colour})
    if not panels:
        return {"image": None, "rows": []}
    from caedoctor.report import figures as fig

    return {"image": fig.unit_fractions(panels), "rows": rows}


def _output_signals(record: MonitorRecord | None) -> dict:
    if record is None:
        return {"rows": []}
    rows = []
    for label, values, note in (
            ("output spread across the batch (relative to the targets')", record.relative_spread,
             "near 0: the same image for every input (collapse to the mean)"),
            ("outputs outside the target range", record.range_violation,
             "the output activation cannot reach (or overshoots) the targets"),
    ):
        finite = [v for v in (_float(x) for x in values) if v is not None]
        if finite:
            rows.append({"label": label, "first": finite[0], "last": finite[-1], "note": note})
    base = _float(record.baseline_loss)
    rel = []
    if base and base > 0 and math.isfinite(base):
        rel = [v for v in (_float(x) for x in record.relative_probe_losses()) if v is not None]
    if rel:
        rows.append({"label": "monitor-batch loss / predict-the-mean loss", "first": rel[0], "last": rel[-1],
                     "note": "1.0 = no better than predicting the mean image"})
    return {"rows": rows, "monitor_seconds": _float(record.monitor_seconds), "interval": record.interval}


# ------------------------------------------------------------------ reconstructions

def _reconstructions(diagnosis: Diagnosis, data: Data | None, repair: RepairResult | None) -> dict:
    if data is None:
        return {"image": None, "note": "no data was given to the report"}
    x, y = data.sample(RECONSTRUCTION_SAMPLES)
    rows = [("input", x)]
    if data.profile.target is not None:
        rows.append(("target", y))
    inputs_rows = len(rows)
    notes = []
    original = repair.original_model if repair is not None else None
    label = "original (trained for the budget)"
    if original is None:
        baseline = diagnosis.baseline
        monitor = baseline.monitor if baseline is not None else None
        original = monitor.model if monitor is not None else None  # the probe's trained copy
        steps = baseline.steps_run if baseline is not None else None
        label = f"original (after the {steps}-step probe)" if steps else "original (after the probe)"
    models = [(label, original)]
    if repair is not None:
        models.append(("repaired", repair.model))
    for name, model in models:
        if model is None:
            notes.append(f"{name}: not measured")
            continue
        try:
            rows.append((name, np.asarray(reconstruct(model, x))))
        except Exception as exc:  # noqa: BLE001 - e.g. an original that cannot run on these inputs
            notes.append(f"{name}: could not run on the inputs ({type(exc).__name__}: {exc})")
    if len(rows) == inputs_rows:
        why = f" ({'; '.join(notes)})" if notes else ""
        return {"image": None, "note": f"no trained model to reconstruct with{why}"}
    stats = data.profile.target_stats
    from caedoctor.report import figures as fig

    return {"image": fig.reconstructions(rows, float(stats.min), float(stats.max)), "note": "; ".join(notes)}


# ------------------------------------------------------------------ data, model, changes

_PROFILE_ROWS = (("shape", "shape"), ("dtype", "dtype"), ("samples", "count"), ("value range", "value_range"),
                 ("min", "min"), ("max", "max"), ("mean", "mean"), ("std", "std"), ("NaN values", "nan_count"),
                 ("Inf values", "inf_count"), ("exact duplicates", "exact_duplicates"),
                 ("near duplicates", "near_duplicates"))


def _profile(diagnosis: Diagnosis, data: Data | None) -> dict:
    """The data profile (`DataProfile.to_dict()`) the diagnosis kept, else the given data's."""
    profile = diagnosis.profile or (data.profile.to_dict() if data is not None else None)
    if not profile:
        return {"rows": [], "splits": None, "notes": []}
    inputs = profile["inputs"]
    target = profile["target"]
    rows = []
    for label, key in _PROFILE_ROWS:
        rows.append({"label": label, "inputs": _value(inputs.get(key)),
                     "target": _value(target.get(key)) if target else None})
    if inputs.get("channel_mean"):
        rows.append({"label": "mean per channel", "inputs": _value(inputs.get("channel_mean")),
                     "target": _value(target.get("channel_mean")) if target else None})
    return {"rows": rows, "target_is_input": target is None,
            "splits": {"train": profile["train_count"], "val": profile["val_count"]},
            "notes": [str(n) for n in profile["notes"]]}


def _model(loaded: LoadedModel | None) -> dict:
    if loaded is None:
        return {"config": [], "layers": []}
    items = []
    for line in loaded.config.describe():
        label, _, value = line.partition(": ")
        items.append((label, value))
    items.extend(("note", note) for note in loaded.config.notes)
    layers = []
    for layer in loaded.model.layers:
        try:
            shape = str(layer.output.shape)
        except (AttributeError, ValueError):  # nested or not-yet-built layers have no single output
            shape = ""
        act = getattr(layer, "activation", None)  # a Keras layer's own attribute, when it has one
        layers.append({"name": layer.name, "type": type(layer).__name__, "output": shape,
                       "activation": getattr(act, "__name__", str(act)) if act is not None else "",
                       "params": int(layer.count_params()) if layer.built else 0})
    return {"config": items, "layers": layers, "name": loaded.model.name,
            "params": parameter_count(loaded.model)}


def _changes(diagnosis: Diagnosis, repair: RepairResult | None) -> dict:
    proposed = [{"code": f.code, "fix": f.fix.description or f.fix.kind}
                for f in diagnosis.confirmed() if f.fix is not None]
    if repair is None:
        return {"repair": None, "proposed": proposed}
    rows = []
    for c in repair.changes:
        eff = c.effect or {}
        rows.append({"what": c.what, "params": _value(c.params),
                     "why": c.why,
                     "effect": _effect(eff.get("metric"), eff.get("before"), eff.get("after")) if eff else None,
                     "kept": c.kept, "note": c.note})
    before, after = repair.original_metrics, repair.repaired_metrics
    metrics = [{"metric": _METRIC_NAMES.get(k, k), "before": _float(before.get(k)), "after": _float(after.get(k))}
               for k in ("relative_mse", "mse", "psnr", "ssim") if k in before or k in after]
    image = None
    if repair.original_curve or repair.repaired_curve:
        from caedoctor.report import figures as fig

        image = fig.before_after(list(repair.original_curve), list(repair.repaired_curve))
    return {"proposed": proposed, "repair": {
        "rows": rows, "metrics": metrics, "image": image, "converged": repair.converged,
        "reason": repair.reason, "preprocessing": [str(p) for p in repair.preprocessing],
        "error": str(before.get("error")) if before.get("error") else None}}


# ------------------------------------------------------------------ formatting

def _float(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if not math.isnan(value) else None


def _num(value, digits: int = 4) -> str:
    """A number for people: 4 significant digits, '–' when missing, 'inf' kept."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.{digits}g}"
    return str(value)


def _pct(value) -> str:
    if value is None:
        return "–"
    return f"{value * 100:+.1f}%"


def _value(value) -> str:
    """Evidence values (numbers, lists, dicts) as short readable text."""
    if isinstance(value, (bool, int, float)) or value is None:
        return _num(value)
    if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0:
        return _num(value.item())
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and len(value) <= 8 and all(isinstance(v, (int, float)) for v in value):
        return "[" + ", ".join(_num(v) for v in value) + "]"
    if isinstance(value, dict) and value and len(value) <= 6 and all(
            isinstance(v, (bool, int, float, str)) or v is None for v in value.values()):
        return ", ".join(f"{k}={_num(v)}" for k, v in value.items())
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 300 else text[:299] + "…"
