"""Measure the signals behind every symptom threshold on healthy and faulty CAEs.

Each probe trains from seed 0 for a few hundred steps on bundled:patches32 (batch 32), run by caedoctor's
probe runner exactly as a diagnosis runs its baseline (`ProbeRunner.probe(monitored=True)`: a
`ConvergenceMonitor` probing every 10 steps, the validation loss on 256 samples every 50 steps), then
prints what each detector measured. The thresholds in `caedoctor.thresholds` sit between the
healthy probes' values and the faulty ones'; `bench/README-symptoms.md` keeps the table.

    .venv/bin/python bench/symptom_probes.py                 # all probes (about 3 minutes on 2 cores)
    .venv/bin/python bench/symptom_probes.py --only sgd_lr_1e-6,dead_bias
    .venv/bin/python bench/symptom_probes.py --reuse         # re-analyse the saved records, no training

Records are saved as JSON under runs/symptom_probes/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

OUT = Path("runs/symptom_probes")
BATCH_SIZE = 32


def _cae(shape, hidden: str, output: str, depth: int = 2, bias: float = 0.0, width: int = 32,
         kernel_scale: float = 1.0):
    """A plain CAE: `depth` conv+pool blocks, mirrored with transpose convs + upsampling."""
    import keras
    from keras import layers

    init = keras.initializers.Constant(bias)
    kernel = keras.initializers.VarianceScaling(scale=kernel_scale, mode="fan_avg", distribution="uniform")
    inputs = keras.Input(shape)
    x = inputs
    for i in range(depth):
        x = layers.Conv2D(width, 3, padding="same", activation=hidden, bias_initializer=init,
                          kernel_initializer=kernel, name=f"enc{i}")(x)
        if i < 2:
            x = layers.MaxPool2D(2, padding="same")(x)
    for i in range(depth):
        x = layers.Conv2DTranspose(width, 3, padding="same", activation=hidden, bias_initializer=init,
                                   kernel_initializer=kernel, name=f"dec{i}")(x)
        if i >= depth - 2:
            x = layers.UpSampling2D(2)(x)
    out = layers.Conv2DTranspose(shape[-1], 3, padding="same", activation=output, name="out")(x)
    return keras.Model(inputs, out)


def probes():
    """name -> (what it injects, model builder(shape) -> (model, TrainConfig), data name, steps)."""
    import numpy as np

    from caedoctor.config import TrainConfig
    from caedoctor.models.presets import build_preset

    def preset(name, **overrides):
        def build(shape):
            model, config = build_preset(name, shape)
            return model, config.with_overrides(**overrides)
        return build

    def custom(hidden, output, lr=1e-3, optimizer="adam", **kw):
        return lambda shape: (_cae(shape, hidden, output, **kw), TrainConfig(optimizer, lr, "mse", 32))

    def dense(shape):
        import keras
        from keras import layers

        inputs = keras.Input(shape)
        x = layers.Flatten()(inputs)
        x = layers.Dense(512, activation="relu", name="code")(x)
        x = layers.Dense(int(np.prod(shape)), activation="sigmoid", name="out")(x)
        return keras.Model(inputs, layers.Reshape(shape)(x)), TrainConfig("adam", 1e-3, "mse", 32)

    def dense16(shape):
        import keras
        from keras import layers

        inputs = keras.Input(shape)
        x = layers.Flatten()(inputs)
        x = layers.Dense(2048, activation="relu", name="code")(x)
        x = layers.Dense(int(np.prod(shape)), activation="sigmoid", name="out")(x)
        return keras.Model(inputs, layers.Reshape(shape)(x)), TrainConfig("adam", 1e-3, "mse", 16)

    return {
        "seed_bad": ("field notes: ReLU, linear output, Adam 1e-3", preset("seed_bad"), "unit", 300),
        "seed_better": ("field notes: LeakyReLU, sigmoid output, Adam 1e-3", preset("seed_better"), "unit", 300),
        "seed_hyper_bad": ("field notes: seed_better with Adam 0.1", preset("seed_hyper_bad"), "unit", 300),
        "sgd_lr_1e-6": ("seed_better, SGD lr 1e-6", preset("seed_better", optimizer="sgd", learning_rate=1e-6),
                        "unit", 300),
        "sgd_lr_1e-2": ("seed_better, SGD lr 1e-2 (Keras' default)",
                        preset("seed_better", optimizer="sgd", learning_rate=1e-2), "unit", 300),
        "adam_lr_1e-2": ("seed_better, Adam 1e-2", preset("seed_better", learning_rate=1e-2), "unit", 300),
        "adam_lr_10": ("seed_bad, Adam lr 10", preset("seed_bad", learning_rate=10.0), "unit", 300),
        "sgd_lr_10": ("seed_bad, SGD lr 10", preset("seed_bad", optimizer="sgd", learning_rate=10.0), "unit", 300),
        "sigmoid_stack": ("6 hidden sigmoid conv layers", custom("sigmoid", "sigmoid", depth=3), "unit", 300),
        "dead_bias": ("seed_bad-like, ReLU with bias -3", custom("relu", "linear", bias=-3.0), "unit", 300),
        "tanh_0_255": ("tanh hidden, data 0-255, linear output", custom("tanh", "linear"), "x255", 300),
        "seed_bad_0_255": ("seed_bad on data 0-255 (not normalised)", preset("seed_bad"), "x255", 300),
        "overfit_48": ("seed_better trained on 48 samples only", preset("seed_better"), "tiny", 600),
        "dense_overfit_48": ("dense CAE (Flatten, Dense 512, Dense out) on 48 samples", dense, "tiny", 600),
        "adam_lr_3e-2": ("seed_better, Adam 3e-2", preset("seed_better", learning_rate=3e-2), "unit", 300),
        "sgd_lr_1": ("seed_better, SGD lr 1", preset("seed_better", optimizer="sgd", learning_rate=1.0), "unit", 300),
        "sgd_lr_0.1_bad": ("seed_bad, SGD lr 0.1", preset("seed_bad", optimizer="sgd", learning_rate=0.1), "unit", 300),
        "sigmoid_stack_8": ("8 hidden sigmoid conv layers", custom("sigmoid", "sigmoid", depth=4), "unit", 300),
        "sigmoid_stack_8_sgd": ("8 hidden sigmoid conv layers, SGD lr 0.1",
                                custom("sigmoid", "sigmoid", depth=4, optimizer="sgd", lr=0.1), "unit", 300),
        "ssim_linear": ("seed_bad trained with the SSIM loss", preset("seed_bad", loss="ssim"), "unit", 300),
        "tanh_output": ("ReLU hidden, tanh output, data in [0, 1]", custom("relu", "tanh"), "unit", 300),
        "sgd_lr_0.3_bad": ("seed_bad, SGD lr 0.3", preset("seed_bad", optimizer="sgd", learning_rate=0.3), "unit", 300),
        "adam_lr_0.1_bad": ("seed_bad, Adam 0.1", preset("seed_bad", learning_rate=0.1), "unit", 300),
        "rmsprop_lr_1e-2_bad": ("seed_bad, RMSprop 1e-2", preset("seed_bad", optimizer="rmsprop", learning_rate=1e-2),
                                "unit", 300),
        "dense_overfit_16": ("dense CAE (Dense 2048) on 16 samples", dense16, "tiny16", 600),
        "relu_stack_8_big_init": ("8 ReLU conv layers, weights 3x too large", custom("relu", "linear", depth=4,
                                  kernel_scale=9.0), "unit", 300),
    }


def _data(kind: str):
    import numpy as np

    from caedoctor.data import load_data
    from caedoctor.data.bundled import patches32

    if kind == "unit":
        return load_data("bundled:patches32")
    train, val = patches32()
    if kind == "x255":
        return load_data((np.concatenate([train, val]) * 255.0).round().astype(np.float32))
    if kind in ("tiny", "tiny16"):
        n = 48 if kind == "tiny" else 16
        # 48 training samples, then the real validation patches (split_arrays puts 10% in validation,
        # so hand it 48 + enough to fill the validation side with held-out images).
        from caedoctor.data import sources
        from caedoctor.data import Data
        from caedoctor.data.load import _split_dataset
        from caedoctor.data.profile import DataProfile, profile_batches

        source = sources.Source(f"patches32[:{n}]", sources.ArraySplit(train[:n]), sources.ArraySplit(val),
                                dtype="float32")
        tr, va = _split_dataset(source.train, None, 1.0), _split_dataset(source.val, None, 1.0)
        inputs, _ = profile_batches(((x, y) for x, y in tr.batch(1024).as_numpy_iterator()), "float32")
        profile = DataProfile(f"patches32[:{n}]", inputs, None, n, len(val))
        return Data(f"patches32[:{n}]", tr, va, profile, source)
    raise ValueError(kind)


def monitored_probe(name, build, data_kind, steps):
    """One monitored probe, run as a diagnosis runs its baseline (`caedoctor.probing.ProbeRunner`): the
    monitor on a fixed batch of 32 training samples, the validation loss every 50 steps."""
    from caedoctor.probing import ProbeRunner
    from caedoctor.setup import Setup
    from caedoctor.training import seed_everything

    data = _data(data_kind)
    seed_everything(0)
    model, config = build(data.input_shape)
    setup = Setup(model, config.replace(batch_size=BATCH_SIZE), data)
    runner = ProbeRunner.for_setup(setup, compared=False)
    start = time.perf_counter()
    probe = runner.probe(setup, steps=steps, seed=0, label=name, monitored=True)  # a NaN ends it, recorded
    return probe.monitor.record, time.perf_counter() - start


COLUMNS = [  # (column, detector, evidence key)
    ("rel_end", "stuck", "relative_end_loss"),
    ("drop_2nd_half", "stuck", "second_half_drop"),
    ("progress", "slow", "progress"),
    ("end/best", "diverging", "end_over_best"),
    ("osc_up", "oscillating", "up_share"),
    ("osc_move_base", "oscillating", "median_move_vs_baseline"),
    ("osc_move_log", "oscillating", "median_move_log"),
    ("spread", "collapsed_to_mean", "relative_spread"),
    ("grad_first/last", "vanishing_gradients", "first_over_last"),
    ("g/W_end_max", "vanishing_gradients", "largest_relative_gradient_at_end"),
    ("g/W_max", "exploding_gradients", "largest_relative_gradient"),
    ("update_early", "stuck", "early_update_ratio"),
    ("update_late", "stuck", "update_ratio"),
    ("range_viol", "out_of_range", "violation_fraction"),
    ("val_rise", "overfitting", "val_rise"),
    ("val/train", "overfitting", "val_over_train"),
]


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return f"{v:.3g}"
    return str(v)


def analyse(name, record):
    from caedoctor.monitor.symptoms import detect_symptoms

    symptoms = {s.name: s for s in detect_symptoms(record)}
    row = {col: symptoms[det].evidence.get(key) for col, det, key in COLUMNS}
    dead = symptoms["dead_units"].evidence.get("dead_fraction") or {}
    sat = symptoms["saturation"].evidence.get("saturated_fraction") or {}
    row["dead_max"] = max(dead.values()) if dead else None
    row["sat_hidden_max"] = max(sat.values()) if sat else None
    row["nan_step"] = symptoms["nan_inf"].evidence.get("first_nonfinite_step")
    present = [f"{s.name} ({s.cause})" for s in symptoms.values() if s.present]
    return row, present


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated probe names")
    parser.add_argument("--reuse", action="store_true", help="analyse saved records instead of training")
    args = parser.parse_args()
    from caedoctor.monitor import MonitorRecord

    table = probes()
    names = [n for n in args.only.split(",") if n] or list(table)
    OUT.mkdir(parents=True, exist_ok=True)
    rows = {}
    for name in names:
        what, build, data_kind, steps = table[name]
        path = OUT / f"{name}.json"
        if args.reuse and path.exists():
            record = MonitorRecord.from_dict(json.loads(path.read_text()))
        else:
            record, seconds = monitored_probe(name, build, data_kind, steps)
            path.write_text(json.dumps(record.to_dict()))
            print(f"{name}: {what}; {steps} steps in {seconds:.1f} s", flush=True)
        rows[name] = analyse(name, record)
    cols = [c for c, _, _ in COLUMNS] + ["dead_max", "sat_hidden_max", "nan_step"]
    print("\n| probe | " + " | ".join(cols) + " | symptoms present |")
    print("|" + "---|" * (len(cols) + 2))
    for name, (row, present) in rows.items():
        print(f"| {name} | " + " | ".join(_fmt(row.get(c)) for c in cols) + f" | {', '.join(present) or '-'} |")


if __name__ == "__main__":
    main()
