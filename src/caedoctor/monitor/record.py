"""`MonitorRecord`: the traces a `ConvergenceMonitor` recorded, as plain data.

Symptom detectors read it, reports print it, JSON carries it (`to_dict`). It holds no Keras objects, so
it can be built by hand (tests, saved runs) and read without TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class MonitorRecord:
    """What the monitor measured during one `fit`.

    Attributes:
        loss_steps: the global step (counted from 0 across epochs) of each entry of `losses`.
        losses: training loss of those steps: the mean over the steps since the previous entry (one step
            when `loss_every=1`), recovered from Keras' running epoch mean.
        imprecise_steps: steps whose loss could not be recovered (NaN in `losses`): Keras' float32 running
            total had been swamped by an earlier, enormous loss in the same epoch.
        probe_steps: the steps after which the monitor batch was probed.
        probe_loss: the compiled loss on the monitor batch at those steps (same batch every time, so
            changes are the model's, not the data's).
        layers: names of the layers with trainable weights, from input to output.
        grad_norms: per layer, the L2 norm of the loss gradient over its weights, per probe.
        weight_norms: per layer, the L2 norm of its weights, per probe.
        update_ratios: per layer, |W_after - W_before| / |W_before| over one optimizer step, per probe
            (NaN for a probe that did not follow a recorded step, e.g. the final one).
        dead_fraction: per ReLU layer, the fraction of its units (channels) that are <= 0 for every sample
            and position of the monitor batch, per probe.
        saturated_fraction: per sigmoid/tanh layer, the fraction of units that sit in the flat tails for
            most values (see `thresholds.SATURATED_UNIT_SHARE`), per probe.
        output_layer: the layer that makes the output (its saturation can be legitimate: black pixels).
        target_saturated_fraction: for a sigmoid/tanh output layer, the fraction of target channels that
            would count as saturated, i.e. the output saturation the data itself asks for (else NaN).
        range_violation: the fraction of output values outside the target's range, per probe.
        relative_spread: mean over output pixels of the std across samples, divided by the same for the
            targets, per probe. Near 0: every input gets the same image (collapse to the mean).
        penalty_share: the regularization penalties (`model.losses`: weight and activity penalties, `add_loss`)
            as a share of penalties + reconstruction loss on the monitor batch, per probe.
        dropout_gap: the reconstruction loss with dropout on (as `fit` trains) over the loss with it off (as
            the model is used), per probe; NaN for a model without dropout or noise layers.
        latent_dims: the number of latent dimensions of a VAE whose encoder returns a mean and a log-variance
            (0 for other models: the two traces below stay empty).
        active_units: per probe, how many latent dimensions are active (the variance across the monitor batch
            of their mean above `thresholds.ACTIVE_UNIT_VARIANCE`).
        kl_per_dim: per probe, the KL divergence from the prior per latent dimension, in nats (mean over the
            batch and the dimensions).
        log_var_max: per probe, the largest log-variance the encoder returns on the monitor batch.
        own_logs: for a model that trains itself, what its `train_step` reported at each probe (Keras' logs
            by name: `loss`, `reconstruction_loss`, `kl_loss`, ...), one list per name.
        pixel_bce: per probe, the binary cross-entropy of the reconstruction per target value (targets in
            [0, 1] only), beside `probe_loss` (the MSE per value) to read the reduction of a model's own loss.
        target_values: the values in one target sample (pixels x channels).
        kl_weight: the KL weight a VAE exposes (its `beta` or `kl_weight` attribute), NaN when it has none.
        kl_weights: that weight at each probe (empty when the model has none): a schedule shows here.
        kl_weight_test: when the weight first changed during fit, whether the traced train step saw the change
            (`reconstruction.weight_in_traced_step`: `old`, `new`, the losses, `frozen`); empty otherwise.
        baseline_loss: the compiled loss of predicting the monitor batch's per-pixel mean image for every
            sample: the "predict the mean" level. `loss / baseline_loss` is the relative loss.
        own_loss: the training loss is the model's own (a self-training model's `train_step` with no compiled
            loss: a VAE's summed cross-entropy plus KL), in units the probe's reconstruction error (the mean
            squared error, which `probe_loss`, `baseline_loss` and `floor_loss` are in) does not share; the
            training losses then have no relative scale (`relative_training`).
        target_range: the (low, high) range outputs are checked against.
        epoch_logs: Keras' epoch-end logs, one value per epoch (e.g. `loss`, `val_loss`).
        interval: steps between probes.
        monitor_seconds: wall time spent inside the monitor's hooks (its own overhead).
    """

    loss_steps: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    imprecise_steps: list = field(default_factory=list)
    probe_steps: list = field(default_factory=list)
    probe_loss: list = field(default_factory=list)
    layers: list = field(default_factory=list)
    grad_norms: dict = field(default_factory=dict)
    weight_norms: dict = field(default_factory=dict)
    update_ratios: dict = field(default_factory=dict)
    dead_fraction: dict = field(default_factory=dict)
    saturated_fraction: dict = field(default_factory=dict)
    output_layer: str = ""
    target_saturated_fraction: float = math.nan
    range_violation: list = field(default_factory=list)
    relative_spread: list = field(default_factory=list)
    penalty_share: list = field(default_factory=list)
    dropout_gap: list = field(default_factory=list)
    latent_dims: int = 0
    active_units: list = field(default_factory=list)
    kl_per_dim: list = field(default_factory=list)
    log_var_max: list = field(default_factory=list)
    own_logs: dict = field(default_factory=dict)
    pixel_bce: list = field(default_factory=list)
    target_values: int = 0
    kl_weight: float = math.nan
    kl_weights: list = field(default_factory=list)
    kl_weight_test: dict = field(default_factory=dict)
    baseline_loss: float = math.nan
    own_loss: bool = False
    floor_loss: float = 0.0  # the loss of a perfect reconstruction (binary cross-entropy: the targets' entropy)
    target_range: tuple = (math.nan, math.nan)
    epoch_logs: dict = field(default_factory=dict)
    interval: int = 0
    monitor_seconds: float = 0.0

    @property
    def steps(self) -> int:
        """Training steps seen (the last recorded step + 1)."""
        return self.loss_steps[-1] + 1 if self.loss_steps else 0

    @property
    def loss_span(self) -> float:
        """The distance from a perfect reconstruction to predicting the mean image, in the compiled loss."""
        return self.baseline_loss - self.floor_loss

    def relative(self, losses) -> np.ndarray:
        """Loss levels as (loss - floor) / (baseline - floor): 0 is a perfect reconstruction, 1 the level of
        predicting the mean image, whatever the loss (for MSE, MAE and SSIM the floor is 0)."""
        return (np.asarray(losses, float) - self.floor_loss) / self.loss_span

    @property
    def training_loss_span(self) -> float:
        """`loss_span` in the units of the training loss: NaN when the training loss is the model's own."""
        return math.nan if self.own_loss else self.loss_span

    def relative_training(self, losses) -> np.ndarray:
        """Training losses on the relative scale (`relative`); NaN when they are the model's own (`own_loss`)."""
        return (np.asarray(losses, float) - self.floor_loss) / self.training_loss_span

    def relative_losses(self) -> np.ndarray:
        """Training losses on the relative scale (`relative`): 1.0 is the level of predicting the mean image."""
        return self.relative_training(self.losses)

    def relative_probe_losses(self) -> np.ndarray:
        """Monitor-batch losses on the relative scale (measured on the same batch)."""
        return self.relative(self.probe_loss)

    def to_dict(self) -> dict:
        from caedoctor.findings import jsonable

        return jsonable({k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()})

    @classmethod
    def from_dict(cls, data: dict) -> "MonitorRecord":
        """The inverse of `to_dict` (None back to NaN), so a saved record can be analysed again."""
        def num(v):
            if v is None:
                return math.nan
            if isinstance(v, str):
                return float(v)  # "inf" / "-inf"
            return v

        def nums(values):
            return [num(v) for v in values]

        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("losses", "probe_loss", "range_violation", "relative_spread", "penalty_share", "dropout_gap",
                    "active_units", "kl_per_dim", "log_var_max", "pixel_bce", "kl_weights"):
            if key in kwargs:
                kwargs[key] = nums(kwargs[key])
        for key in ("grad_norms", "weight_norms", "update_ratios", "dead_fraction", "saturated_fraction",
                    "epoch_logs", "own_logs"):
            if key in kwargs:
                kwargs[key] = {name: nums(values) for name, values in kwargs[key].items()}
        for key in ("baseline_loss", "floor_loss", "target_saturated_fraction", "kl_weight"):
            if key in kwargs:
                kwargs[key] = num(kwargs[key])
        if "target_range" in kwargs:
            kwargs["target_range"] = tuple(nums(kwargs["target_range"]))
        return cls(**kwargs)
