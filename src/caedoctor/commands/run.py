"""`caedoctor run script.py [args...]`: run the user's unchanged script, watch every `fit`, diagnose after."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from caedoctor.commands._options import handle_errors
from caedoctor.thresholds import DEFAULT_BUDGET_SECONDS


@click.command(name="run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--diagnose", "when", type=click.Choice(["on-problem", "always", "never"]), default="on-problem",
              show_default=True, help="Diagnose the fits where the monitor saw a problem, every fit, or none.")
@click.option("--quick", is_flag=True, help="Quick diagnoses: static findings, one probe and the verdict.")
@click.option("--steps", type=click.IntRange(min=25), default=None, help="Training steps per probe.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every probe.")
@click.option("--budget-seconds", type=click.FloatRange(min=0), default=DEFAULT_BUDGET_SECONDS, show_default=True,
              help="Time for each diagnosis, baseline included (0: no limit); causes not tested in time stay "
                   "suspected, with the reason.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), default=None,
              help="Write the HTML report of each diagnosis into this folder (fit-N/ for later ones).")
@click.option("--on-nan", type=click.Choice(["rollback"]), default=None,
              help="Add caedoctor's NaN guard to every fit: on a NaN loss, restore the last good weights and "
                   "lower the learning rate. This changes the training; without it caedoctor never does.")
@click.option("--mlflow/--no-mlflow", "to_mlflow", default=None,
              help="Log each diagnosis into MLflow: by default into the run the fit trained in when it had one "
                   "(MLflow's autolog, mlflow.start_run), --mlflow always (a new run when none), --no-mlflow never.")
@click.option("--tensorboard", "tensorboard_dir", type=click.Path(path_type=Path), default=None,
              help="Write each diagnosis's probe curves as TensorBoard runs into this folder (fit-N/ for later ones).")
@click.argument("script", metavar="SCRIPT.py")
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED, metavar="[ARGS]...")
@handle_errors
def run_command(when, quick, steps, seed, budget_seconds, report_dir, on_nan, to_mlflow, tensorboard_dir, script,
                script_args):
    """Run SCRIPT.py as `python SCRIPT.py ARGS` would, watching every keras Model.fit.

    The script runs unchanged: same sys.argv, __main__, working folder, output and exit code. Every fit
    gets caedoctor's ConvergenceMonitor (it observes; the training is not changed) and its set-up is
    recorded when it starts. After the script ends, each fit where the monitor saw a problem (NaN,
    divergence, stall, collapse to the mean image, overfitting) is diagnosed on copies of that set-up, and
    the verdict and causes are printed on stderr after the script's own output.

    Exit code: the script's own.
    """
    from caedoctor.watch import autologging
    from caedoctor.watch.script import run_script
    from caedoctor.watch.session import Watcher

    watcher = Watcher(when, deferred=True, quick=quick, steps=steps, seed=seed, report_dir=report_dir,
                      on_nan=on_nan, budget_seconds=budget_seconds or None, mlflow=to_mlflow,
                      tensorboard_dir=tensorboard_dir)
    autologging._set_watcher(watcher)
    extra = " (with --on-nan rollback: caedoctor's NaN guard changes a training whose loss turns NaN)" \
        if on_nan else ""
    click.echo(f"caedoctor: running your code: python {' '.join([script, *script_args])} (every keras "
               f"Model.fit is watched by caedoctor's monitor{extra})", err=True)
    code = run_script(script, script_args, watcher)
    watcher.finish()
    sys.exit(code)
