"""`write_report(diagnosis, out_dir)`: the diagnosis as one self-contained HTML page a person can read.

People would rather look at a loss curve and a grid of reconstructions than read numbers, so the page shows
the verdict, the causes with the measurements that confirm or refute each one, and the figures behind them:
the probe loss curves (original vs each counterfactual), the LR range test, per-layer gradient norms, dead
and saturated units, reconstructions, the data profile and, after a repair, the changes made.

The page is one file: CSS inline, every figure a base64 PNG `data:` URI, no JavaScript, no network, so it
can be mailed, attached to an issue or opened from an air-gapped machine. Jinja2 autoescapes everything,
so layer names, paths and messages (all user-controlled) cannot inject markup. A part that was not measured
(no monitor, no LR range test, no repair) is shown as "not measured" instead of failing the report.

Example:

```python
from caedoctor.diagnosis import diagnose
from caedoctor.report_html import write_report

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
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

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


@runtime_checkable
class ReportChange(Protocol):
    """One change a repair made (or tried): `caedoctor.repair.fix.Change` satisfies it.

    Required: `what` (the fix kind or a short name), `why` (the finding that motivated it), `effect` (a dict
    {metric, before, after} measured by a probe, or None). Read when present: `params` (dict), `kept` (bool;
    False = rolled back), `note` (str).
    """

    what: str
    why: str
    effect: dict | None


@runtime_checkable
class Repair(Protocol):
    """What `write_report(..., repair=...)` needs from a repair: `caedoctor.repair.fix.RepairResult` satisfies it.

    Required: `model`, the trained repaired `keras.Model` mapping raw inputs to outputs on the targets' raw
    scale (None when nothing could be repaired), and `changes`, a sequence of `ReportChange`. Read when
    present: `original_model` (the original trained for the same budget, for the reconstruction row),
    `original_metrics` / `repaired_metrics` (dicts of validation metrics), `original_curve` /
    `repaired_curve` (validation loss per epoch), `converged` (bool), `reason` (str), `preprocessing` (list
    of str: data steps saved with the model).
    """

    model: Any
    changes: Sequence[ReportChange]


def write_report(diagnosis, out_dir, *, data=None, loaded=None, repair: Repair | None = None) -> Path:
    """Write `out_dir/report.html` for `diagnosis` and return its path.

    Args:
        diagnosis: a `caedoctor.diagnosis.Diagnosis`.
        out_dir: folder to write into (created when missing); a report.html caedoctor wrote there is replaced.
        data: the `Data` the diagnosis ran on, for reconstructions (without it they are "not measured");
            default: the data `caedoctor.diagnose` kept on the diagnosis.
        loaded: the `LoadedModel` diagnosed, for the model and configuration tables (default: as `data`).
        repair: a `Repair` (e.g. `RepairResult` from `caedoctor fix`), for the repaired reconstructions and
            the changes made.

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


def render_report(diagnosis, *, data=None, loaded=None, repair: Repair | None = None) -> str:
    """The report as an HTML string (see `write_report`)."""
    import jinja2

    template_text = resources.files("caedoctor").joinpath("templates", "report.html.j2").read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["pct"] = _pct
    return env.from_string(template_text).render(**build_context(diagnosis, data=data, loaded=loaded,
                                                                 repair=repair))


# ------------------------------------------------------------------ context

def build_context(diagnosis, *, data=None, loaded=None, repair=None) -> dict:
    """Everything the template shows, as plain data (strings, numbers, lists, dicts, data URIs)."""
    from caedoctor import __version__

    verdict = str(getattr(diagnosis, "verdict", "") or "unknown")
    tone, sentence = VERDICT_TEXT.get(verdict, ("warn", ""))
    record = _monitor_record(getattr(diagnosis, "baseline", None))
    return {
        "verdict": verdict,
        "verdict_label": verdict.replace("_", " "),
        "verdict_tone": tone,
        "verdict_sentence": sentence,
        "model_name": str(getattr(diagnosis, "model", "") or getattr(loaded, "source", "") or "model"),
        "data_name": str(getattr(diagnosis, "data", "") or getattr(data, "name", "") or "data"),
        "elapsed_s": _float(getattr(diagnosis, "elapsed_s", None)),
        "version": __version__,
        "generated": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "probe": _probe_summary(diagnosis),
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
    }


def _section(name: str, build, *args) -> dict:
    """Build one section; a failure shows in that section ("could not draw") instead of losing the page."""
    try:
        result = build(*args)
    except Exception as exc:  # noqa: BLE001 - one broken figure must not cost the user the whole report
        warnings.warn(f"report section {name!r} failed: {type(exc).__name__}: {exc}", stacklevel=2)
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"error": None, **result}


# ------------------------------------------------------------------ causes

def _causes(diagnosis) -> dict:
    findings = list(getattr(diagnosis, "findings", []) or [])
    if hasattr(diagnosis, "confirmed"):
        confirmed, refuted, suspected = diagnosis.confirmed(), diagnosis.refuted(), diagnosis.suspected()
    else:
        confirmed = [f for f in findings if f.status in ("certain", "confirmed")]
        refuted = [f for f in findings if f.status == "refuted"]
        suspected = [f for f in findings if f.status == "suspected"]
    return {"confirmed": [_finding(f) for f in confirmed], "refuted": [_finding(f) for f in refuted],
            "suspected": [_finding(f) for f in suspected], "total": len(findings)}


def _finding(f) -> dict:
    effect = getattr(f, "effect", None)
    fix = getattr(f, "fix", None)
    evidence = dict(getattr(f, "evidence", {}) or {})
    not_tested = evidence.pop("not_tested", None)
    return {
        "code": str(f.code), "cause": str(f.cause).replace("_", " "), "severity": str(f.severity),
        "status": str(f.status), "message": str(f.message),
        "effect": _effect(effect.metric, effect.before, effect.after) if effect is not None else None,
        "fix": (fix.description or fix.kind) if fix is not None else None,
        "fix_kind": fix.kind if fix is not None else None,
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


def _symptoms(diagnosis) -> dict:
    rows = []
    for s in getattr(diagnosis, "symptoms", []) or []:
        s = s if isinstance(s, dict) else getattr(s, "__dict__", {})
        rows.append({"name": str(s.get("name", "")).replace("_", " "), "present": bool(s.get("present")),
                     "cause": str(s.get("cause") or ""), "evidence": _value(s.get("evidence", {}))})
    noise = [{"metric": _METRIC_NAMES.get(m, m), "margin": _float(v.get("margin")),
              "baseline": _float(v.get("baseline")), "reseeded": _float(v.get("reseeded"))}
             for m, v in (getattr(diagnosis, "noise", None) or {}).items()]
    return {"rows": rows, "noise": noise}


# ------------------------------------------------------------------ probes

def _probe_summary(diagnosis) -> dict | None:
    probe = getattr(diagnosis, "probe", None)
    if not probe:
        return None
    return {"steps_run": probe.get("steps_run", probe.get("steps")), "seconds": _float(probe.get("seconds")),
            "relative": _float(probe.get("relative_loss")), "stopped": probe.get("stopped") or ""}


def _is_probe(result) -> bool:
    return hasattr(result, "loss_curve") and hasattr(result, "metrics")


def _probes(diagnosis) -> dict:
    results = {k: v for k, v in (getattr(diagnosis, "probe_results", None) or {}).items() if _is_probe(v)}
    baseline = getattr(diagnosis, "baseline", None)
    if "baseline" not in results and _is_probe(baseline):
        results = {"baseline": baseline, **results}
    if not results:
        return {"image": None, "rows": []}
    described = {}
    for cf in getattr(diagnosis, "counterfactuals", []) or []:
        fix = cf.get("fix") or {}
        described[f"{cf.get('finding')}:{fix.get('kind')}"] = fix.get("description") or fix.get("kind")
    curves, rows = [], []
    for key, result in results.items():
        kind = "baseline" if key == "baseline" else "reseeded" if key == "reseeded" else "counterfactual"
        code, _, kind_of_fix = str(key).partition(":")
        label = {"baseline": "original (baseline)", "reseeded": "original, another seed (noise)"}.get(
            key, f"{code}: {described.get(key) or kind_of_fix or getattr(result, 'label', '')}")
        curve = list(result.loss_curve)
        chunk = (result.steps_run / len(curve)) if curve and getattr(result, "steps_run", 0) else 25
        curves.append({"label": label, "steps": [chunk * (i + 1) for i in range(len(curve))], "loss": curve,
                       "kind": kind})
        m = result.metrics or {}
        rows.append({"label": label, "kind": kind, "steps_run": getattr(result, "steps_run", None),
                     "seconds": _float(getattr(result, "seconds", None)),
                     "relative_mse": _float(m.get("relative_mse")), "psnr": _float(m.get("psnr")),
                     "ssim": _float(m.get("ssim")), "stopped": getattr(result, "stopped", "") or ""})
    from caedoctor import report_figures as fig

    drawable = any(np.isfinite(np.asarray(c["loss"], float)).any() for c in curves)
    return {"image": fig.probe_curves(curves) if drawable else None, "rows": rows}


def _get(obj, *names):
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _lr(diagnosis) -> dict:
    result = (getattr(diagnosis, "probe_results", None) or {}).get("lr_find") or getattr(diagnosis, "lr_find", None)
    if not result:
        return {"image": None, "suggestion": None, "details": []}
    lrs = _get(result, "lrs", "learning_rates")
    losses = _get(result, "losses", "loss")
    smoothed = _get(result, "smoothed", "smoothed_losses", "smooth_losses", "smoothed_loss")
    suggestion = _float(_get(result, "suggestion"))
    image = None
    if lrs is not None and losses is not None and len(lrs) and len(losses):
        from caedoctor import report_figures as fig

        image = fig.lr_range(lrs, losses, smoothed, suggestion)
    as_dict = result if isinstance(result, dict) else (result.to_dict() if hasattr(result, "to_dict")
                                                       else dict(getattr(result, "__dict__", {})))
    skip = {"lrs", "learning_rates", "losses", "loss", "smoothed", "smoothed_losses", "smooth_losses",
            "smoothed_loss", "suggestion"}
    details = [(str(k), _value(v)) for k, v in as_dict.items() if k not in skip]
    return {"image": image, "suggestion": suggestion, "details": details}


# ------------------------------------------------------------------ monitor

def _monitor_record(baseline):
    """The baseline's `MonitorRecord` (the monitor's `.record`, or a record given directly), or None."""
    monitor = getattr(baseline, "monitor", None)
    if monitor is None:
        return None
    record = getattr(monitor, "record", monitor)
    return record if hasattr(record, "grad_norms") else None


def _layer_order(record, names) -> list:
    order = list(getattr(record, "layers", []) or [])
    return [n for n in order if n in names] + [n for n in names if n not in order]


def _gradients(record) -> dict:
    norms = dict(getattr(record, "grad_norms", {}) or {}) if record is not None else {}
    steps = list(getattr(record, "probe_steps", []) or []) if record is not None else []
    if not norms or not steps:
        return {"image": None, "rows": []}
    from caedoctor import report_figures as fig

    names = _layer_order(record, list(norms))
    ordered = {n: norms[n] for n in names}
    rows = []
    for n in names:
        values = [_float(v) for v in ordered[n]]
        finite = [v for v in values if v is not None]
        ratios = [_float(v) for v in (getattr(record, "update_ratios", {}) or {}).get(n, [])]
        ratios = [v for v in ratios if v is not None]
        rows.append({"layer": n, "first": finite[0] if finite else None, "last": finite[-1] if finite else None,
                     "update_ratio": ratios[-1] if ratios else None})
    return {"image": fig.grad_norms([s + 1 for s in steps], ordered), "rows": rows}


def _units(record) -> dict:
    if record is None:
        return {"image": None, "rows": []}
    panels, rows = [], []
    for key, title, colour, kind in (("dead_fraction", "dead ReLU units", "#dc2626", "dead (ReLU)"),
                                     ("saturated_fraction", "saturated sigmoid/tanh units", "#d97706",
                                      "saturated (sigmoid/tanh)")):
        traces = dict(getattr(record, key, {}) or {})
        panel_rows = []
        for name in _layer_order(record, list(traces)):
            values = [_float(v) for v in traces[name]]
            finite = [v for v in values if v is not None]
            if not finite:
                continue
            panel_rows.append((name, finite[0], finite[-1]))
            output = name == getattr(record, "output_layer", None)
            rows.append({"layer": name, "kind": kind, "first": finite[0], "last": finite[-1], "max": max(finite),
                         "output": output})
        if panel_rows:
            panels.append({"title": title, "rows": panel_rows, "colour": colour})
    if not panels:
        return {"image": None, "rows": []}
    from caedoctor import report_figures as fig

    return {"image": fig.unit_fractions(panels), "rows": rows}


def _output_signals(record) -> dict:
    if record is None:
        return {"rows": []}
    rows = []
    for label, values, note in (
            ("output spread across the batch (relative to the targets')", getattr(record, "relative_spread", []),
             "near 0: the same image for every input (collapse to the mean)"),
            ("outputs outside the target range", getattr(record, "range_violation", []),
             "the output activation cannot reach (or overshoots) the targets"),
    ):
        finite = [v for v in (_float(x) for x in values or []) if v is not None]
        if finite:
            rows.append({"label": label, "first": finite[0], "last": finite[-1], "note": note})
    base = _float(getattr(record, "baseline_loss", None))
    rel = []
    if base and base > 0 and math.isfinite(base) and hasattr(record, "relative_probe_losses"):
        rel = [v for v in (_float(x) for x in record.relative_probe_losses()) if v is not None]
    if rel:
        rows.append({"label": "monitor-batch loss / predict-the-mean loss", "first": rel[0], "last": rel[-1],
                     "note": "1.0 = no better than predicting the mean image"})
    seconds = _float(getattr(record, "monitor_seconds", None))
    return {"rows": rows, "monitor_seconds": seconds, "interval": getattr(record, "interval", None)}


# ------------------------------------------------------------------ reconstructions

def _reconstructions(diagnosis, data, repair) -> dict:
    if data is None or not hasattr(data, "sample"):
        return {"image": None, "note": "no data was given to the report"}
    x, y = data.sample(RECONSTRUCTION_SAMPLES)
    rows = [("input", x)]
    profile = getattr(data, "profile", None)
    if profile is not None and getattr(profile, "target", None) is not None:
        rows.append(("target", y))
    inputs_rows = len(rows)
    notes = []
    original = getattr(repair, "original_model", None) if repair is not None else None
    label = "original (trained for the budget)"
    if original is None:
        original = getattr(getattr(getattr(diagnosis, "baseline", None), "monitor", None), "model", None)
        steps = getattr(getattr(diagnosis, "baseline", None), "steps_run", None)
        label = f"original (after the {steps}-step probe)" if steps else "original (after the probe)"
    models = [(label, original)]
    if repair is not None:
        models.append(("repaired", getattr(repair, "model", None)))
    for name, model in models:
        if model is None:
            notes.append(f"{name}: not measured")
            continue
        try:
            rows.append((name, np.asarray(model(x, training=False))))
        except Exception as exc:  # noqa: BLE001 - e.g. an original that cannot run on these inputs
            notes.append(f"{name}: could not run on the inputs ({type(exc).__name__}: {exc})")
    if len(rows) == inputs_rows:
        why = f" ({'; '.join(notes)})" if notes else ""
        return {"image": None, "note": f"no trained model to reconstruct with{why}"}
    stats = profile.target_stats if profile is not None else None
    lo = float(stats.min) if stats is not None else float(np.nanmin(x))
    hi = float(stats.max) if stats is not None else float(np.nanmax(x))
    from caedoctor import report_figures as fig

    return {"image": fig.reconstructions(rows, lo, hi), "note": "; ".join(notes)}


# ------------------------------------------------------------------ data, model, changes

_PROFILE_ROWS = (("shape", "shape"), ("dtype", "dtype"), ("samples", "count"), ("value range", "value_range"),
                 ("min", "min"), ("max", "max"), ("mean", "mean"), ("std", "std"), ("NaN values", "nan_count"),
                 ("Inf values", "inf_count"), ("exact duplicates", "exact_duplicates"),
                 ("near duplicates", "near_duplicates"))


def _profile(diagnosis, data) -> dict:
    profile = getattr(diagnosis, "profile", None)
    if not profile and data is not None and getattr(data, "profile", None) is not None:
        profile = data.profile.to_dict()
    if not profile:
        return {"rows": [], "splits": None, "notes": []}
    inputs = profile.get("inputs") or {}
    target = profile.get("target")
    rows = []
    for label, key in _PROFILE_ROWS:
        rows.append({"label": label, "inputs": _value(inputs.get(key)),
                     "target": _value(target.get(key)) if target else None})
    if inputs.get("channel_mean"):
        rows.append({"label": "mean per channel", "inputs": _value(inputs.get("channel_mean")),
                     "target": _value(target.get("channel_mean")) if target else None})
    return {"rows": rows, "target_is_input": target is None,
            "splits": {"train": profile.get("train_count"), "val": profile.get("val_count")},
            "notes": [str(n) for n in profile.get("notes", []) or []]}


def _model(loaded) -> dict:
    if loaded is None or getattr(loaded, "model", None) is None:
        return {"config": [], "layers": []}
    config = getattr(loaded, "config", None)
    items = []
    if config is not None:
        for line in config.describe():
            label, _, value = line.partition(": ")
            items.append((label, value))
        items.extend(("note", note) for note in config.notes)
    layers = []
    for layer in loaded.model.layers:
        try:
            shape = str(layer.output.shape)
        except (AttributeError, ValueError):  # nested or not-yet-built layers have no single output
            shape = ""
        act = getattr(layer, "activation", None)
        layers.append({"name": layer.name, "type": type(layer).__name__, "output": shape,
                       "activation": getattr(act, "__name__", str(act)) if act is not None else "",
                       "params": int(layer.count_params()) if layer.built else 0})
    return {"config": items, "layers": layers, "name": str(getattr(loaded.model, "name", "")),
            "params": int(loaded.model.count_params())}


def _changes(diagnosis, repair) -> dict:
    proposed = []
    for f in (diagnosis.confirmed() if hasattr(diagnosis, "confirmed") else []):
        if getattr(f, "fix", None) is not None:
            proposed.append({"code": str(f.code), "fix": f.fix.description or f.fix.kind})
    if repair is None:
        return {"repair": None, "proposed": proposed}
    rows = []
    for c in getattr(repair, "changes", []) or []:
        eff = getattr(c, "effect", None) or {}
        rows.append({"what": str(getattr(c, "what", "")), "params": _value(getattr(c, "params", {}) or {}),
                     "why": str(getattr(c, "why", "")),
                     "effect": _effect(eff.get("metric"), eff.get("before"), eff.get("after")) if eff else None,
                     "kept": bool(getattr(c, "kept", True)), "note": str(getattr(c, "note", "") or "")})
    before = dict(getattr(repair, "original_metrics", {}) or {})
    after = dict(getattr(repair, "repaired_metrics", {}) or {})
    metrics = [{"metric": _METRIC_NAMES.get(k, k), "before": _float(before.get(k)), "after": _float(after.get(k))}
               for k in ("relative_mse", "mse", "psnr", "ssim") if k in before or k in after]
    image = None
    oc, rc = getattr(repair, "original_curve", None), getattr(repair, "repaired_curve", None)
    if (oc is not None and len(oc)) or (rc is not None and len(rc)):
        from caedoctor import report_figures as fig

        image = fig.before_after(list(oc or []), list(rc or []))
    converged = getattr(repair, "converged", None)
    return {"proposed": proposed, "repair": {
        "rows": rows, "metrics": metrics, "image": image, "converged": converged,
        "reason": str(getattr(repair, "reason", "") or ""),
        "preprocessing": [str(p) for p in getattr(repair, "preprocessing", []) or []],
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
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
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
