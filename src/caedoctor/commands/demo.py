"""`caedoctor demo`: train the field notes' three CAEs on bundled:patches32, compare them, diagnose each."""

from __future__ import annotations

import json
from pathlib import Path

import click

from caedoctor.commands._options import handle_errors, keras_verbosity, prepare_out_dir


@click.command(name="demo")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True)
@click.option("--force", is_flag=True, help="Replace results already in --out.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@click.option("--no-diagnose", is_flag=True, help="Only train and compare; skip the diagnoses.")
@handle_errors
def demo_command(out_dir, force, seed, as_json, no_diagnose):
    """Train the field notes' three CAEs on bundled:patches32, compare them, and diagnose each."""
    from caedoctor.demo import run_demo
    from caedoctor.report.text import demo_table

    out = prepare_out_dir(out_dir, force=force)
    progress = (lambda m: click.echo(f"  ... {m}", err=True)) if not as_json else None
    rows = run_demo(out, seed=seed, verbose=keras_verbosity(), diagnose=not no_diagnose, report=not no_diagnose,
                    progress=progress)
    if as_json:
        click.echo(json.dumps([{**{k: v for k, v in r.__dict__.items() if k not in ("diagnosis", "report")},
                                "out_dir": str(r.out_dir), "report": str(r.report) if r.report else None,
                                "diagnosis": r.diagnosis.to_dict() if r.diagnosis else None} for r in rows],
                              indent=2))
    else:
        demo_table(rows)
        click.echo(f"plots and metrics in {out}/<model>/")
