"""`caedoctor diagnose`: the verdict, the confirmed causes ranked by measured effect, refuted suspicions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from caedoctor.commands._options import config_options, data_options, handle_errors, load_inputs
from caedoctor.thresholds import DEFAULT_BUDGET_SECONDS, DEFAULT_HORIZON_STEPS


@click.command(name="diagnose")
@click.argument("model_spec", metavar="MODEL")
@data_options
@config_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every probe: same seed, same diagnosis.")
@click.option("--steps", type=click.IntRange(min=25), default=None, help="Training steps per probe (default 500; 250 with --quick).")
@click.option("--budget-seconds", type=click.FloatRange(min=0), default=DEFAULT_BUDGET_SECONDS, show_default=True,
              help="Time for the whole diagnosis, baseline included (0: no limit). A slow model runs shorter "
                   "probes; causes not tested in time stay suspected, with the reason. The plan is printed first.")
@click.option("--horizon-steps", type=click.IntRange(min=1), default=None,
              help=f"The training steps the verdict and causes are about: probes are forecast there (default "
                   f"{DEFAULT_HORIZON_STEPS}, what the benchmark's ground truth trains).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Counterfactual probes run side by side (threads; with --executor ray, at most this many Ray "
                   "tasks at a time); same result as 1.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where the counterfactual probes run: this process, or Ray tasks in their own processes "
                   "(RAY_ADDRESS names a cluster, else a local Ray is started; needs caedoctor[ray]). Same result.")
@click.option("--quick", is_flag=True, help="Static findings, one probe and the verdict; no counterfactuals.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), default=None,
              help="Write an HTML report into this folder.")
@click.option("--mlflow", "to_mlflow", is_flag=True,
              help="Log the diagnosis into the active MLflow run (MLFLOW_RUN_ID), else a new run: tags, metrics, "
                   "the JSON and the report (needs caedoctor[mlflow]).")
@click.option("--tensorboard", "tensorboard_dir", type=click.Path(path_type=Path), default=None,
              help="Write each probe's curves as its own TensorBoard run under this folder.")
@handle_errors
def diagnose_command(model_spec, data_spec, image_size, normalize, unsafe, optimizer, lr, loss, batch_size, fmt, seed, steps,
             budget_seconds, horizon_steps, jobs, executor, quick, report_dir, to_mlflow, tensorboard_dir):
    """Diagnose why MODEL does (not) converge on DATA, proving each cause by a counterfactual probe.

    Exit codes: 0 converging with no problems, 1 problems found, 2 usage or input error.
    """
    from caedoctor.diagnosis import diagnose as run
    from caedoctor.report.text import print_diagnosis
    from caedoctor.training import seed_everything

    if report_dir is not None:  # refuse before the run, not after it, when report.html is not ours
        from caedoctor.out_folder import check_claim
        from caedoctor.report.html import REPORT_NAME

        check_claim(report_dir, [REPORT_NAME])
    if to_mlflow:  # refuse before the run when MLflow is missing
        from caedoctor.report.tracking import _mlflow

        _mlflow()
    if executor == "ray":  # refuse before the run when Ray is missing
        from caedoctor.probing.executors import require_ray

        require_ray()
    seed_everything(seed)
    data, loaded = load_inputs(model_spec, data_spec, image_size, normalize, unsafe, optimizer, lr, loss,
                               batch_size, seed)
    progress = None
    if fmt == "text":  # on stderr: the plan and each stage as it starts (stdout stays the result)
        progress = lambda msg: click.echo(f"  ... {msg}", err=True)  # noqa: E731
    result = run(loaded, data, steps=steps, seed=seed, quick=quick,
                 budget_seconds=budget_seconds or None, jobs=jobs, horizon_steps=horizon_steps, progress=progress,
                 executor=executor)
    if report_dir is not None:
        from caedoctor.report.html import write_report

        result.report_path = write_report(result, report_dir, data=data, loaded=loaded)
    if tensorboard_dir is not None:
        from caedoctor.report.tracking import write_tensorboard

        write_tensorboard(result, tensorboard_dir)
    if to_mlflow:
        from caedoctor.report.tracking import log_to_mlflow

        run_id = log_to_mlflow(result, report_dir=report_dir)
        click.echo(f"mlflow: logged into run {run_id}", err=True)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        print_diagnosis(result)
        if report_dir is not None:
            click.echo(f"report: {result.report_path}")
    sys.exit(result.exit_code)
