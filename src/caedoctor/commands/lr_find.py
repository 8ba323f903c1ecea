"""`caedoctor lr-find`: the learning-rate range test, with the suggestion in text or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from caedoctor.commands._options import config_options, data_options, handle_errors, load_inputs


@click.command("lr-find")
@click.argument("model_spec", metavar="MODEL")
@data_options
@config_options
@click.option("--steps", type=click.IntRange(min=10), default=100, show_default=True,
              help="Steps in the sweep (one batch each).")
@click.option("--start", "start_lr", type=click.FloatRange(min=0, min_open=True), default=1e-7, show_default=True,
              help="First learning rate.")
@click.option("--end", "end_lr", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="Last learning rate (the sweep stops earlier when the loss blows up).")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the loss-vs-rate curve with the suggestion marked to this PNG.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the copy's weights and the batch order.")
@handle_errors
def lr_find_command(model_spec, data_spec, image_size, normalize, unsafe, optimizer, lr, loss, batch_size, steps,
                    start_lr, end_lr, plot_path, fmt, seed):
    """Sweep the learning rate of a fresh copy of MODEL on DATA and suggest one.

    The rate grows exponentially from --start to --end over --steps batches; the suggestion is the
    steepest descent of the smoothed loss within two decades below its minimum (robust to noise and to a
    single bad batch). MODEL itself is not trained. JSON output carries the suggestion, the reason and
    the whole curve; --plot draws it.
    """
    from caedoctor.diagnosis.lr_finder import lr_find, plot_lr_find
    from caedoctor.errors import ConfigError
    from caedoctor.models import check_autoencoder_shapes

    if start_lr >= end_lr:
        raise ConfigError(f"--start must be below --end; got --start {start_lr:g} and --end {end_lr:g}")
    data, loaded = load_inputs(model_spec, data_spec, image_size, normalize, unsafe, optimizer, lr, loss,
                               batch_size, seed)
    check_autoencoder_shapes(loaded.model, data.target_shape, data.input_shape)
    result = lr_find(loaded, data, start=start_lr, end=end_lr, steps=steps, seed=seed)
    if plot_path is not None:
        plot_path.parent.mkdir(parents=True, exist_ok=True)
        plot_lr_find(result, plot_path)
    if fmt == "json":
        payload = {"model": loaded.source, "data": data.name, **result.to_dict(),
                   "plot": str(plot_path) if plot_path is not None else None}
        click.echo(json.dumps(payload, indent=2))
        return
    config = loaded.config
    click.echo(f"suggested learning rate for {config.optimizer.describe()}: {result.suggestion:.2g} "
               f"(configured: {config.learning_rate:.2g})")
    click.echo(f"  {result.reason}")
    stop = "stopped early: the loss blew up" if result.stopped_early else "ran to the end"
    click.echo(f"  sweep: {len(result.lrs)} steps from {result.lrs[0]:.1e} to {result.lrs[-1]:.1e} ({stop})")
    if plot_path is not None:
        click.echo(f"  plot: {plot_path}")
