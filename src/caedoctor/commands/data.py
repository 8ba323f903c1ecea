"""`caedoctor data profile DATA`: what the data looks like, measured in one streaming pass."""

from __future__ import annotations

import json
import math

import click

from caedoctor.commands._options import handle_errors, image_size_option, normalize_option
from caedoctor.findings import jsonable


@click.group(name="data")
def data_group():
    """Inspect DATA: bundled:NAME, keras:NAME, .npz/.npy, .tfrecord files or a folder of images/TFRecords."""


def _num(value) -> str:
    return "nan" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


def _stats_lines(label: str, stats: dict) -> list[str]:
    shape = "x".join(str(s) for s in stats["shape"])
    lines = [f"{label}: {stats['count']} samples of {shape} {stats['dtype']}, range {stats['value_range']} "
             f"(min {_num(stats['min'])}, max {_num(stats['max'])}, mean {_num(stats['mean'])}, "
             f"std {_num(stats['std'])})",
             "  per channel: mean " + ", ".join(_num(v) for v in stats["channel_mean"])
             + "; std " + ", ".join(_num(v) for v in stats["channel_std"])]
    if stats["nan_count"] or stats["inf_count"]:
        lines.append(f"  non-finite: {stats['nan_count']} NaN, {stats['inf_count']} Inf "
                     f"(first in samples {stats['first_nonfinite']})")
    else:
        lines.append("  non-finite: none")
    if stats.get("duplicates_checked"):
        lines.append(f"  duplicates: {stats['exact_duplicates']} exact, {stats['near_duplicates']} near "
                     f"(of {stats['duplicates_checked']} samples)")
    return lines


@data_group.command(name="profile")
@click.argument("data_spec", metavar="DATA")
@image_size_option()
@normalize_option()
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the train/validation split.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def profile(data_spec, image_size, normalize, seed, fmt):
    """Print DATA's profile: counts, shape, value range, per-channel statistics, NaN/Inf and duplicates.

    Image folders and TFRecord files are streamed: memory stays bounded however many images there are.
    """
    from caedoctor.data import load_data

    prof = load_data(data_spec, image_size=image_size, normalize=normalize, seed=seed).profile
    d = prof.to_dict()
    if fmt == "json":
        click.echo(json.dumps(jsonable(d), indent=2))
        return
    click.echo(f"{d['name']}: {d['count']} samples ({d['train_count']} train, {d['val_count']} validation)")
    for line in _stats_lines("inputs", d["inputs"]):
        click.echo(line)
    if d["target"] is not None:
        for line in _stats_lines("target", d["target"]):
            click.echo(line)
    else:
        click.echo("target: the input itself")
    for note in d["notes"]:
        click.echo(f"note: {note}")
