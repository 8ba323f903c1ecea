"""A real tiny diagnosis, shared by the HTML report tests: real probes with a real `ConvergenceMonitor`,
real counterfactual probes of real fixes, compared with the real noise margin, and a repaired model that
really trained. Built once per session (a few seconds on 2 CPU cores).

The diagnosis is assembled here from `run_probe` results rather than by `diagnose()`, so the report is
exercised with every part present (monitor batch, counterfactuals, refuted and suspected findings, repair)
whatever the static checks and symptom detectors currently find on a tiny model. Every part is a real result
object (`Diagnosis`, `ProbeResult`, `RepairResult`, `Change`), as the report reads them.

User-controlled strings carry markup on purpose. TensorFlow lets a layer that trains carry only
`[A-Za-z0-9_.\\/>-]` in its name (Keras then forbids "/"), so the first conv layer has the hostile-ish real
name `conv->relu`; the full payloads go where users control them freely: the model's source path holds
`<script>alert(1)</script>`, finding messages hold `<img src=x onerror=alert(1)>`, and the monitor's record
names the bottleneck layer `<script>alert(1)</script>` (records are plain data and can come from a saved
JSON run).
"""

from __future__ import annotations

import numpy as np

EVIL_LAYER = "<img src=x onerror=alert(1)>"
EVIL_SCRIPT = "<script>alert(1)</script>"
REAL_LAYER = "conv->relu"
STEPS = 100


def smooth_images(n: int = 96, size: int = 16, seed: int = 0) -> np.ndarray:
    """Blurry random blobs in [0, 1]: structured enough for a tiny CAE to learn in 100 steps."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((n, size // 4, size // 4, 1)).astype(np.float32)
    return np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)


def tiny_model():
    import keras

    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name=REAL_LAYER)(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="bottleneck")(x)
    x = keras.layers.UpSampling2D(2, name="up")(x)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="decoded")(x)
    return keras.Model(inputs, outputs, name="tiny_cae")


def _finding(code, cause, severity, message, fix, comparison=None, evidence=None):
    from caedoctor.findings import Effect, Finding

    f = Finding(code, cause, severity, message, evidence=evidence or {}, fix=fix)
    if comparison is not None:
        f.status = comparison.status
        f.effect = Effect(comparison.metric, comparison.before, comparison.after)
    return f


def build_tiny_run():
    """(diagnosis, data, loaded, repair) from a real tiny run: a CAE whose learning rate is far too low."""
    from caedoctor.config import TrainConfig
    from caedoctor.data import load_data
    from caedoctor.diagnosis import Diagnosis
    from caedoctor.diagnosis import judge as J
    from caedoctor.probing import probes as P
    from caedoctor.monitor.callback import ConvergenceMonitor
    from caedoctor.findings import Fix
    from caedoctor.fixes import apply_fix
    from caedoctor.models import LoadedModel
    from caedoctor.repairing.procedure import Change, RepairResult
    from caedoctor.setup import Setup
    from caedoctor.training import seed_everything

    seed_everything(0)
    data = load_data(smooth_images(), seed=0)
    config = TrainConfig(optimizer="adam", learning_rate=1e-5, loss="mse", batch_size=16)
    loaded = LoadedModel(tiny_model(), config, f"models/{EVIL_SCRIPT}.keras")

    x_mon, y_mon = data.sample(16, split="train")
    monitor = ConvergenceMonitor(monitor_data=(x_mon, y_mon), interval=10)
    baseline = P.run_probe(Setup.of(loaded, data), steps=STEPS, seed=0, callbacks=[monitor])
    record = baseline.monitor.record
    for traces in (record.grad_norms, record.update_ratios, record.weight_norms, record.dead_fraction):
        if "bottleneck" in traces:  # a hostile name in the recorded data, as a saved run could hold
            traces[EVIL_SCRIPT] = traces.pop("bottleneck")
    record.layers = [EVIL_SCRIPT if n == "bottleneck" else n for n in record.layers]
    reseeded = P.run_probe(Setup.of(loaded, data), steps=STEPS, seed=1, label="baseline (seed+1)")

    lr_fix = Fix("learning_rate", {"learning_rate": 3e-3}, "set the learning rate to 0.003")
    act_fix = Fix("hidden_activation", {"from": "relu", "to": "leaky_relu"}, f"use LeakyReLU in {EVIL_LAYER}")
    findings, results, counterfactuals = [], {"baseline": baseline, "reseeded": reseeded}, []
    import keras

    keep = keras.callbacks.Callback()  # keeps the model the LR probe trained (probes train a fresh copy)
    margin = J.noise_margin(baseline, reseeded, "relative_mse")
    for code, cause, severity, message, fix, callbacks in (
            ("CAE201", "learning_rate_too_low", "warning", "the loss barely moves in 100 steps", lr_fix, [keep]),
            ("CAE110", "dead_relu", "info", f"ReLU in {EVIL_LAYER} may die", act_fix, None)):
        cf = apply_fix(Setup.of(loaded, data), fix)
        probe = P.run_probe(cf, steps=STEPS, seed=0, label=fix.kind, callbacks=callbacks)
        comparison = J.compare(baseline, probe, "relative_mse", margin)
        findings.append(_finding(code, cause, severity, message, fix, comparison, {"lr": config.learning_rate}))
        results[f"{code}:{fix.kind}"] = probe
        counterfactuals.append({"finding": code, "cause": cause, "fix": fix.to_dict(), "probe": probe.to_dict(),
                                "comparison": comparison.__dict__})
    findings.append(_finding("CAE105", "bottleneck_too_narrow", "info", f"bottleneck {EVIL_SCRIPT} is narrow",
                             Fix("bottleneck", {"factor": 2.0}, "double the bottleneck width"),
                             evidence={"not_tested": "budget spent", "ratio": 0.5}))
    diagnosis = Diagnosis(
        verdict="not_converging", findings=findings,
        probe={"steps": STEPS, "steps_run": baseline.steps_run, "seconds": baseline.seconds,
               "loss_curve": baseline.loss_curve, "relative_loss": baseline.relative_mse,
               "metrics": baseline.metrics, "stopped": baseline.stopped},
        lr_find=None, elapsed_s=sum(r.seconds for r in results.values()), counterfactuals=counterfactuals,
        symptoms=[{"name": "stuck", "present": True, "cause": "learning_rate_too_low",
                   "evidence": {"relative_loss": baseline.relative_mse}}],
        noise={"relative_mse": {"margin": margin, "baseline": baseline.relative_mse,
                                "reseeded": reseeded.relative_mse}},
        model=loaded.source, data=data.name, profile=data.profile.to_dict(), baseline=baseline,
        probe_results=results)
    try:  # the LR range test, when this build has it
        from caedoctor.diagnosis.lr_finder import lr_find
    except ImportError:
        lr_find = None
    if lr_find is not None:
        lr_result = lr_find(loaded, data, steps=60, seed=0)
        diagnosis.lr_find = lr_result.to_dict() if hasattr(lr_result, "to_dict") else dict(lr_result.__dict__)
        diagnosis.probe_results["lr_find"] = lr_result

    lr_probe = results["CAE201:learning_rate"]
    lr_changed = LoadedModel(keep.model, config.with_learning_rate(3e-3), loaded.source)
    repair = RepairResult(
        diagnosis=diagnosis,
        changes=[Change("learning_rate", {"learning_rate": 3e-3}, f"CAE201 learning_rate_too_low: {EVIL_SCRIPT}",
                        {"metric": "relative_mse", "before": baseline.relative_mse, "after": lr_probe.relative_mse},
                        True),
                 Change("hidden_activation", {"from": "relu", "to": "leaky_relu"}, "CAE110 dead_relu", None, False,
                        note="rolled back: it did not improve the probe")],
        model=keep.model, loaded=lr_changed, data=data, original_metrics=baseline.metrics,
        repaired_metrics=lr_probe.metrics, original_curve=baseline.loss_curve, repaired_curve=lr_probe.loss_curve,
        seconds=0.0, converged=True, original_model=monitor.model, original=loaded)
    return diagnosis, data, loaded, repair
