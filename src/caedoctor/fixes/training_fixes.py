"""Fixes of how the model is trained: the learning rate, the optimizer class, the loss and the batch size.

Each keeps everything else exactly as the user had it: `learning_rate` sets the rate of the *same* optimizer
(class and every other argument kept; a schedule is scaled as a whole), `optimizer` is the separate change of
class, `loss` swaps only the loss.
"""

from __future__ import annotations

from caedoctor.config import LossSpec, NotRescalable, OptimizerSpec
from caedoctor.errors import ConfigError
from caedoctor.fixes.kind import FixKind, NotApplicable


def _learning_rate(setup, fix, context):
    lr = fix.params.get("learning_rate") or (context.suggested_lr if context is not None else None)
    if lr is None and fix.params.get("factor"):
        lr = setup.config.learning_rate * float(fix.params["factor"])
    if lr is None:
        raise NotApplicable("no learning rate given and no LR range test suggestion available")
    try:
        return setup.replace(config=setup.config.with_learning_rate(float(lr)))
    except NotRescalable as exc:
        raise NotApplicable(str(exc)) from None


def _optimizer(setup, fix, context):
    p = fix.params
    try:
        spec = OptimizerSpec.named(p.get("optimizer", setup.config.optimizer_name), p.get("learning_rate"))
    except ConfigError as exc:
        raise NotApplicable(str(exc)) from None
    return setup.with_config(optimizer=spec)


def _loss(setup, fix, context):
    own = setup.config.loss.own
    if own is not None:
        raise NotApplicable(f"suspected, not testable without a code change: the model computes its own loss "
                            f"({own.where}); change the loss there")
    p = fix.params
    name = p["loss"]
    if p.get("max_val") is not None and name in ("ssim", "ssim_l1"):
        from caedoctor.losses import make_loss

        loss = LossSpec(make_loss(name, float(p["max_val"])))
    else:
        try:
            loss = LossSpec.of(name)
        except ConfigError as exc:
            raise NotApplicable(str(exc)) from None
    return setup.with_config(loss=loss)


def _batch_size(setup, fix, context):
    return setup.with_config(batch_size=int(fix.params["batch_size"]))


LEARNING_RATE = FixKind("learning_rate", "learning_rate (float), or null = the LR range test's suggestion, or "
                        "factor (float; multiply the rate); the optimizer's class and other arguments are kept",
                        stage=60, apply=_learning_rate)
OPTIMIZER = FixKind("optimizer", "optimizer (a Keras optimizer name), learning_rate (float; default: Keras')",
                    stage=59, apply=_optimizer)
LOSS = FixKind("loss", "loss (a Keras loss name, ssim or ssim_l1), optional max_val (float)", stage=50, apply=_loss,
               metric="dssim")
BATCH_SIZE = FixKind("batch_size", "batch_size (int)", stage=70, apply=_batch_size)
