"""VAE and denoising cases for the benchmark (issue 29, part 4): drawn from a split's seed, written as the
plain Keras scripts a user writes (a subclassed VAE with its own `train_step`; a denoising CAE fed by a
`tf.data` pipeline), with one fault injected or none (a healthy control). Nothing here imports caedoctor.

A case materialises under `runs/families/<split>/<case_id>/` (git-ignored; rebuilt from `(FAMILIES_VERSION,
split seed, index)`):

- `case.py`: the program with its fault (or the healthy base), runnable as `python case.py` and under
  `caedoctor run`; `fixed.py`: the same program with the fault's lines put back to the base's.
- `data.npz`: `x`, the training images (float32 in [0, 1]); `val.npz`: `x`, held-out clean images the ground
  truth scores on (never given to `fit`).
- `case.json`: the spec, the fault (cause, severity, what it is and its fix in words), the data.

The programs differ between `case.py` and `fixed.py` only in the fault's lines; `tests/bench/test_families.py`
checks that the fixed program of every fault is the base's program.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "generated"))
import sources  # noqa: E402  (the generated benchmark's real images, read without caedoctor)

# 2: the dev ground truth of version 1 (README, Status) made these changes: beta 20 / 50, the overflow's fix the
# base's own rate, noise 0.4 where the target carries it, vertical flips for the pairing faults.
FAMILIES_VERSION = 2
# Seeds fixed before any run on the split. `dev` is tuned on; `test` only reports, once, on one frozen commit.
SPLITS = {"dev": 2_901, "test": 2_902}
VAE_CAUSES = ("kl_weight_too_high", "loss_reduction_mismatch", "log_variance_overflow", "kl_weight_frozen")
DENOISING_CAUSES = ("target_carries_input_noise", "augmentation_not_paired")
CAUSES = VAE_CAUSES + DENOISING_CAUSES
# Cases per split: per cause (each drawn mild or strong) and healthy controls per family.
PER_CAUSE = {"dev": 3, "test": 11}
CONTROLS = {"dev": 3, "test": 10}
N_TRAIN, N_VAL = 2_000, 500
OUT = ROOT / "runs" / "families"


@dataclass
class Case:
    split: str
    index: int
    family: str  # "vae" | "denoising"
    cause: str | None  # None: a healthy control
    severity: str | None
    base: dict = field(default_factory=dict)  # the healthy program's choices
    faulty: dict = field(default_factory=dict)  # the program as run: base with the fault's fields changed

    @property
    def case_id(self) -> str:
        return f"{self.split}-{self.index:03d}"

    def to_dict(self) -> dict:
        return {**asdict(self), "case_id": self.case_id, "version": FAMILIES_VERSION}


def schedule(split: str) -> list:
    """[(family, cause or None)] of the split, in case order (causes first, then controls, then shuffled)."""
    items = [(("vae" if c in VAE_CAUSES else "denoising"), c) for c in CAUSES for _ in range(PER_CAUSE[split])]
    items += [("vae", None)] * CONTROLS[split] + [("denoising", None)] * CONTROLS[split]
    random.Random(SPLITS[split]).shuffle(items)
    return items


def n_cases(split: str) -> int:
    return len(schedule(split))


def _vae_base(r: random.Random) -> dict:
    source = r.choice(["fmnist", "fmnist", "cifar10"])
    return {"source": source, "size": sources.SIZES[source], "channels": 1 if source == "fmnist" else r.choice([1, 3]),
            "filters": r.choice([[16, 32], [32, 64]]), "dense": r.choice([16, 64]), "latent": r.choice([2, 4, 8, 16]),
            "optimizer": "Adam", "learning_rate": r.choice([5e-4, 1e-3, 2e-3]), "batch_size": r.choice([64, 128]),
            "epochs": r.choice([8, 10, 12]), "beta": 1.0, "reduction": "sum", "clip_log_var": False,
            "warm_up": r.choice([None, "variable"])}


def _denoising_base(r: random.Random) -> dict:
    source = r.choice(["fmnist", "cifar10"])
    return {"source": source, "size": sources.SIZES[source], "channels": 1 if source == "fmnist" else r.choice([1, 3]),
            "filters": r.choice([16, 32]), "noise": r.choice([0.1, 0.2, 0.3]), "loss": r.choice(["mse", "binary_crossentropy"]),
            "learning_rate": 1e-3, "batch_size": r.choice([32, 64]), "epochs": r.choice([4, 6]),
            "pairing": r.choice(["plain", "paired_flip"])}


# The fault operators: (base, severity, rng) -> the fields of the program with the fault.
def _kl_too_high(b, severity, r):
    return {"beta": 20.0 if severity == "mild" else 50.0}


def _reduction(b, severity, r):
    return {"reduction": "mean"}


def _overflow(b, severity, r):
    return {"optimizer": "RMSprop", "learning_rate": 0.03 if severity == "mild" else 0.08}


def _frozen(b, severity, r):
    return {"warm_up": "number"}


def _noisy_target(b, severity, r):
    return {"pairing": "noise_before_pairing"}


def _unpaired(b, severity, r):
    return {"pairing": "input_only_flip" if severity == "mild" else "two_draws_flip"}


OPERATORS = {"kl_weight_too_high": _kl_too_high, "loss_reduction_mismatch": _reduction,
             "log_variance_overflow": _overflow, "kl_weight_frozen": _frozen,
             "target_carries_input_noise": _noisy_target, "augmentation_not_paired": _unpaired}
# The base a fault needs (fields it depends on), applied before the fault.
PRECONDITIONS = {"kl_weight_frozen": {"warm_up": "variable"}, "augmentation_not_paired": {"pairing": "paired_flip"},
                 "target_carries_input_noise": {"pairing": "plain", "noise": 0.4}}
WHAT = {
    "kl_weight_too_high": ("beta times the KL term, with beta far above 1: posterior collapse", "beta = 1"),
    "loss_reduction_mismatch": ("the reconstruction averaged over pixels beside the KL summed over latent dims",
                                "the reconstruction summed over each image's pixels"),
    "log_variance_overflow": ("RMSprop at a high learning rate with an unbounded log-variance layer",
                              "the base's own optimizer and rate (clipping alone does not repair it at these "
                              "rates: pilot_overflow.py)"),
    "kl_weight_frozen": ("a KL warm-up callback assigning a Python number to model.beta (the traced step never "
                         "sees it)", "beta held in a keras.Variable and assigned"),
    "target_carries_input_noise": ("noise added before the pairing: (noisy, clip(noisy))", "(noisy, clean)"),
    "augmentation_not_paired": ("a random vertical flip on the input only (mild) or on both with separate draws "
                                "(strong)",
                                "one flip drawn for the pair"),
}


def draw_case(split: str, index: int) -> Case:
    family, cause = schedule(split)[index]
    r = random.Random(f"{SPLITS[split]}-{index}-{FAMILIES_VERSION}")
    base = _vae_base(r) if family == "vae" else _denoising_base(r)
    base.update(PRECONDITIONS.get(cause, {}))
    severity = r.choice(["mild", "strong"]) if cause else None
    faulty = {**base, **(OPERATORS[cause](base, severity, r) if cause else {})}
    return Case(split, index, family, cause, severity, base, faulty)


# ---------------------------------------------------------------------------------------------- programs

_HEAD = '''"""A {family} autoencoder, as a user writes it (generated case {case_id})."""
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

HERE = Path(__file__).resolve().parent
keras.utils.set_random_seed(int(os.environ.get("CASE_SEED", "0")))
images = np.load(HERE / "data.npz")["x"]
'''

_VAE = '''

class Sampling(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(shape=ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


encoder_inputs = keras.Input(shape=({size}, {size}, {channels}))
x = layers.Conv2D({f1}, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
x = layers.Conv2D({f2}, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Flatten()(x)
x = layers.Dense({dense}, activation="relu")(x)
z_mean = layers.Dense({latent}, name="z_mean")(x)
z_log_var = layers.Dense({latent}, name="z_log_var")(x)
{clip}z = Sampling()([z_mean, z_log_var])
encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")

latent_inputs = keras.Input(shape=({latent},))
x = layers.Dense({quarter} * {quarter} * {f2}, activation="relu")(latent_inputs)
x = layers.Reshape(({quarter}, {quarter}, {f2}))(x)
x = layers.Conv2DTranspose({f2}, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Conv2DTranspose({f1}, 3, activation="relu", strides=2, padding="same")(x)
decoder_outputs = layers.Conv2DTranspose({channels}, 3, activation="sigmoid", padding="same")(x)
decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")


class VAE(keras.Model):
    def __init__(self, encoder, decoder, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = {beta_holder}
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = {recon}
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + self.beta * kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {{"loss": self.total_loss_tracker.result(),
                "reconstruction_loss": self.reconstruction_loss_tracker.result(),
                "kl_loss": self.kl_loss_tracker.result()}}
{callback}

vae = VAE(encoder, decoder, beta={beta_start})
vae.compile(optimizer=keras.optimizers.{optimizer}(learning_rate={learning_rate}))
history = vae.fit(images, epochs={epochs}, batch_size={batch_size}, verbose=0{callbacks})
'''

_WARM_UP = '''

class WarmUp(keras.callbacks.Callback):
    """KL warm-up: beta from 0 to {beta} over the first {ramp} epochs."""

    def on_epoch_begin(self, epoch, logs=None):
        {assign}
'''

_RECON = {"sum": "ops.mean(ops.sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)))",
          "mean": "ops.mean(keras.losses.binary_crossentropy(data, reconstruction))"}

_DENOISING = '''

def add_noise(im):
    return im + {noise} * tf.random.normal(tf.shape(im))


def flip_pair(noisy, clean):
    stacked = tf.image.random_flip_up_down(tf.concat([noisy, clean], axis=-1))
    return stacked[..., :{channels}], stacked[..., {channels}:]


dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=0)
{pipeline}
dataset = dataset.batch({batch_size})

inputs = keras.Input(shape=({size}, {size}, {channels}))
x = layers.Conv2D({filters}, 3, activation="relu", padding="same")(inputs)
x = layers.MaxPooling2D(2)(x)
x = layers.Conv2D({filters}, 3, activation="relu", padding="same")(x)
x = layers.MaxPooling2D(2)(x)
x = layers.Conv2D({filters}, 3, activation="relu", padding="same")(x)
x = layers.UpSampling2D(2)(x)
x = layers.Conv2D({filters}, 3, activation="relu", padding="same")(x)
x = layers.UpSampling2D(2)(x)
outputs = layers.Conv2D({channels}, 3, activation="sigmoid", padding="same")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.Adam(learning_rate={learning_rate}), loss="{loss}")
history = model.fit(dataset, epochs={epochs}, verbose=0)
'''

_PIPELINES = {
    "plain": "dataset = dataset.map(lambda im: (add_noise(im), im))",
    "paired_flip": "dataset = dataset.map(lambda im: flip_pair(add_noise(im), im))",
    "noise_before_pairing": "dataset = dataset.map(add_noise).map(lambda im: (im, tf.clip_by_value(im, 0.0, 1.0)))",
    "input_only_flip": "dataset = dataset.map(lambda im: (tf.image.random_flip_up_down(add_noise(im)), im))",
    "two_draws_flip": ("dataset = dataset.map(lambda im: (tf.image.random_flip_up_down(add_noise(im)),\n"
                       "                                  tf.image.random_flip_up_down(im)))"),
}


def program(spec: dict, family: str, case_id: str) -> str:
    """The script of one program (`case.py` or `fixed.py`)."""
    head = _HEAD.format(family="variational" if family == "vae" else "denoising", case_id=case_id)
    if family == "denoising":
        return head + _DENOISING.format(pipeline=_PIPELINES[spec["pairing"]], **spec)
    f1, f2 = spec["filters"]
    warm = spec["warm_up"]
    ramp = max(1, spec["epochs"] // 2)
    if warm == "number":
        assign = f"self.model.beta = {spec['beta']} * min(1.0, epoch / {ramp})"
    else:
        assign = f"self.model.beta.assign({spec['beta']} * min(1.0, epoch / {ramp}))"
    callback = _WARM_UP.format(beta=spec["beta"], ramp=ramp, assign=assign) if warm else ""
    return head + _VAE.format(
        size=spec["size"], channels=spec["channels"], f1=f1, f2=f2, dense=spec["dense"], latent=spec["latent"],
        quarter=spec["size"] // 4,
        clip="z_log_var = ops.clip(z_log_var, -10.0, 10.0)\n" if spec["clip_log_var"] else "",
        beta_holder='keras.Variable(beta, trainable=False, name="beta")' if warm == "variable" else "beta",
        recon=_RECON[spec["reduction"]], callback=callback, beta_start=0.0 if warm else spec["beta"],
        optimizer=spec["optimizer"], learning_rate=spec["learning_rate"], epochs=spec["epochs"],
        batch_size=spec["batch_size"], callbacks=", callbacks=[WarmUp()]" if warm else "")


def fixed_spec(case: Case) -> dict:
    """The faulty program with the fault removed: the base. (Version 1 fixed log-variance overflow by clipping
    at the same high rate; its dev ground truth found that fix never trains: the rate is the cause.)"""
    return dict(case.base)


def data(case: Case) -> tuple:
    """(train images, held-out clean images), real, from the case's seed."""
    spec = case.faulty
    x = sources.images(spec["source"], N_TRAIN + N_VAL, spec["size"], spec["channels"],
                       seed=[SPLITS[case.split], case.index, FAMILIES_VERSION])
    return x[:N_TRAIN], x[N_TRAIN:]


def materialized(case: Case, root: Path = OUT) -> Path:
    """The case's folder, written now unless it holds this version's files (never run a program an earlier
    version of the generator wrote)."""
    folder = root / case.split / case.case_id
    info = folder / "case.json"
    if not info.exists() or json.loads(info.read_text()).get("version") != FAMILIES_VERSION:
        materialize(case, root)
    return folder


def materialize(case: Case, root: Path = OUT) -> Path:
    folder = root / case.split / case.case_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "case.py").write_text(program(case.faulty, case.family, case.case_id))
    if case.cause:
        (folder / "fixed.py").write_text(program(fixed_spec(case), case.family, case.case_id))
    train, val = data(case)
    np.savez(folder / "data.npz", x=train)
    np.savez(folder / "val.npz", x=val)
    info = case.to_dict()
    if case.cause:
        info["what"], info["fix"] = WHAT[case.cause]
    (folder / "case.json").write_text(json.dumps(info, indent=1))
    return folder


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("split", choices=SPLITS)
    parser.add_argument("--materialize", action="store_true")
    args = parser.parse_args()
    for i in range(n_cases(args.split)):
        case = draw_case(args.split, i)
        if args.materialize:
            materialize(case)
        print(case.case_id, case.family, case.cause or "healthy", case.severity or "")
