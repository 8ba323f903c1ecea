"""`caedoctor train`: train MODEL on DATA with atomic checkpoints, resume, TensorBoard logs and the monitor."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from caedoctor.commands._options import (config_options, data_options, err, handle_errors, keras_verbosity,
                                         load_inputs, prepare_out_dir)


@click.command(name="train")
@click.argument("model_spec", metavar="MODEL")
@data_options
@config_options
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True,
              help="Total epochs (with --resume: the final epoch count).")
@click.option("--steps-per-epoch", type=click.IntRange(min=1), default=None, help="Cap the batches per epoch.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--resume", is_flag=True, help="Continue from the last complete checkpoint in --out.")
@click.option("--force", is_flag=True, help="Replace results already in --out.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for weights, split and batch order.")
@click.option("--strategy", "strategy_name", type=click.Choice(["default", "mirrored", "multiworker"]),
              default="default", show_default=True,
              help="tf.distribute strategy: mirrored (this machine's GPUs) or multiworker (TF_CONFIG).")
@click.option("--on-nan", type=click.Choice(["rollback", "stop"]), default="rollback", show_default=True,
              help="When the loss turns NaN/Inf: restore the last good state and lower the learning rate, or stop.")
@handle_errors
def train_command(model_spec, data_spec, image_size, normalize, unsafe, optimizer, lr, loss, batch_size, epochs,
          steps_per_epoch, out_dir, resume, force, seed, strategy_name, on_nan):
    """Train MODEL on DATA and write checkpoints, history.csv, TensorBoard logs, metrics.json and plots.

    Exit codes: 0 trained, 1 the loss turned NaN and training stopped (the message says why), 2 input error.
    """
    from caedoctor.distribute import Distribution
    from caedoctor.models import check_autoencoder_shapes
    from caedoctor.training import seed_everything, train as train_model, validate_trainable

    dist = Distribution(strategy_name)  # first: a multi-worker strategy must exist before other TF work
    seed_everything(seed)
    with dist.scope():
        data, loaded = load_inputs(model_spec, data_spec, image_size, normalize, unsafe, optimizer, lr, loss,
                                   batch_size, seed)
        # Input errors are reported before --out is touched: no empty or half-made output folder.
        validate_trainable(data)
        if not resume:
            check_autoencoder_shapes(loaded.model, data.target_shape, data.input_shape)
        out = dist.output_dir(out_dir, lambda: prepare_out_dir(out_dir, force=force, resume=resume), resume=resume)
        # The monitor's signals (gradient norms, dead/saturated units, collapse) go to TensorBoard beside
        # Keras' own logs, at about 1% extra time (bench/monitor_overhead.py).
        from caedoctor.monitor import ConvergenceMonitor

        monitor = ConvergenceMonitor(monitor_data=data.sample(min(32, data.train_count), split="train"),
                                     log_dir=Path(out) / "logs" / "monitor")
        try:
            result = train_model(loaded, data, epochs=epochs, out_dir=out, resume=resume,
                                 steps_per_epoch=steps_per_epoch, verbose=keras_verbosity(), on_nan=on_nan,
                                 seed=seed, callbacks=[monitor], unsafe=unsafe)
        finally:
            dist.finish()
    if not dist.is_chief:
        click.echo(f"worker {dist.task_type}:{dist.task_id} done ({result.epochs_run} epoch(s) run)")
        return
    m = result.metrics
    stopped = ", stopped early" if result.stopped_early else ""
    click.echo(f"trained {loaded.source} on {data.name}: {result.epochs_run} epoch(s) run, {result.epochs_done} of "
               f"{result.epochs} in total{stopped}, {result.seconds:.1f} s")
    click.echo(f"validation: loss {m['val_loss']:.5g}  relative MSE {m['relative_mse']:.4f}  "
               f"PSNR {m['psnr']:.2f} dB  SSIM {m['ssim']:.4f}")
    click.echo(f"artefacts in {out}")
    if result.nan_guard and result.nan_guard["gave_up"]:
        err(result.nan_guard["message"])
        sys.exit(1)
