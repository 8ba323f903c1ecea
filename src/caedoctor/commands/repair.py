"""`caedoctor repair`: apply the fixes that measurably help, retrain, and show before and after.

`caedoctor fix`, its former name, still runs it (hidden from the help, with a deprecation line on stderr), so
that users' scripts keep working."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from caedoctor.commands._options import config_options, data_options, handle_errors, load_inputs, prepare_out_dir


@click.command(name="repair")
@click.argument("model_spec", metavar="MODEL")
@data_options
@config_options
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Training budget in epochs (default 3).")
@click.option("--budget-seconds", type=click.FloatRange(min=1), default=None, help="Training budget in seconds.")
@click.option("--steps", type=click.IntRange(min=25), default=None, help="Training steps per probe.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Replace results already in --out.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), default=None,
              help="Write an HTML report into this folder.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def repair_command(model_spec, data_spec, image_size, normalize, unsafe, optimizer, lr, loss, batch_size, out_dir,
                   epochs, budget_seconds, steps, seed, force, report_dir, fmt):
    """Diagnose MODEL, apply the confirmed fixes, retrain, and write repaired.keras with the evidence.

    Exit codes: 0 the repaired model converges, 1 it could not be repaired (and why), 2 input error.
    """
    from caedoctor.errors import CaedoctorError
    from caedoctor.repairing.outputs import write_repair_outputs
    from caedoctor.repairing.procedure import repair
    from caedoctor.report.text import print_repair
    from caedoctor.training import seed_everything

    if epochs is not None and budget_seconds is not None:
        raise CaedoctorError("give either --epochs or --budget-seconds, not both")
    if report_dir is not None:  # refuse before the run, not after it, when report.html is not ours
        from caedoctor.out_folder import check_claim
        from caedoctor.report.html import REPORT_NAME

        check_claim(report_dir, [REPORT_NAME])
    out = prepare_out_dir(out_dir, force=force)
    seed_everything(seed)
    data, loaded = load_inputs(model_spec, data_spec, image_size, normalize, unsafe, optimizer, lr, loss,
                               batch_size, seed)
    progress = (lambda m: click.echo(f"  ... {m}", err=True)) if fmt == "text" and sys.stderr.isatty() else None
    result = repair(loaded, data, epochs=epochs, budget_seconds=budget_seconds, steps=steps, seed=seed,
                    progress=progress)
    paths = write_repair_outputs(result, out, data)
    if report_dir is not None:
        from caedoctor.report.html import write_report

        paths["report"] = write_report(result.diagnosis, report_dir, data=data, loaded=loaded, repair=result)
    if fmt == "json":
        click.echo(json.dumps({**result.to_dict(), "files": {k: str(v) for k, v in paths.items()}}, indent=2))
    else:
        print_repair(result, paths)
    sys.exit(0 if result.converged else 1)


@click.command(name="fix", hidden=True, params=repair_command.params,
               help=f"Deprecated: now `caedoctor repair`.\n\n{repair_command.help}",
               context_settings=repair_command.context_settings)
@click.pass_context
def fix_alias(ctx, **kwargs):
    """The old name of `caedoctor repair`: says so on stderr, then runs it with the same arguments."""
    click.echo("caedoctor: `caedoctor fix` is deprecated: it is now `caedoctor repair`, with the same options.",
               err=True)
    return ctx.invoke(repair_command, **kwargs)
