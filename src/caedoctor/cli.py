"""The `caedoctor` command: a thin layer over the Python API.

Exit codes: 0 success, 1 findings, 2 usage or input error, 3 internal error, 130 interrupted. A
`CaedoctorError` is printed as one line (exit 2); an unexpected failure too, with a hint to rerun with
`--debug` for the traceback (exit 3).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

# TensorFlow's C++ log lines (oneDNN notices, grappler "remapper failed") are noise on a terminal; real
# failures still reach the user as Python exceptions. Library users keep their own setting.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import click  # noqa: E402

from caedoctor import __version__  # noqa: E402

EXIT_USAGE = 2


def _err(message: str) -> None:
    click.echo(f"caedoctor: error: {message}", err=True)


def handle_errors(func):
    """Turn user-input errors into one line and exit 2; never show a bare traceback unless --debug."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from caedoctor.errors import CaedoctorError

        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return func(*args, **kwargs)
        except CaedoctorError as exc:
            if debug:
                raise
            _err(str(exc))
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            _err("interrupted")
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug in caedoctor or an input we did not anticipate
            if debug:
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _err(f"unexpected {type(exc).__name__}: {first[:300]} (rerun with --debug for the traceback)")
            sys.exit(3)

    return wrapper


def _verbose():
    return 1 if sys.stdout.isatty() else 2


def prepare_out_dir(out: Path, *, force: bool, resume: bool = False) -> Path:
    """Create `out`; refuse to overwrite earlier results unless `force` (or when resuming into it).

    `force` removes only what caedoctor wrote there (see `caedoctor.out_folder`): a folder holding anything
    else, or one caedoctor did not create, is refused with nothing deleted.
    """
    from caedoctor.out_folder import prepare

    return prepare(out, force=force, resume=resume)


def data_options(func):
    func = click.option("--image-size", type=click.IntRange(min=1), default=None,
                        help="Resize every image to N x N (folders of mixed sizes need it).")(func)
    func = click.option("--normalize", type=click.Choice(["none", "unit"]), default="none", show_default=True,
                        help="'unit' divides uint8 images by 255; 'none' keeps values as they are.")(func)
    func = click.option("--data", "data_spec", default="bundled:patches32", show_default=True,
                        help="DATA: bundled:NAME, keras:NAME, file.npz, file.npy, file.tfrecord or a folder of images/TFRecords.")(func)
    return func


def config_options(func):
    func = click.option("--batch-size", type=int, default=None, help="Override the batch size.")(func)
    func = click.option("--loss", default=None,
                        help="Replace the model's loss by a Keras loss name (mse, mae, huber, binary_crossentropy, "
                             "...), ssim or ssim_l1.")(func)
    func = click.option("--lr", type=float, default=None,
                        help="Set the learning rate of the model's own optimizer (class and other arguments kept; "
                             "a schedule is scaled so its first rate is this).")(func)
    func = click.option("--optimizer", default=None,
                        help="Replace the model's optimizer by a Keras optimizer with its defaults: adam, adadelta, "
                             "sgd, rmsprop, ... (every built-in).")(func)
    func = click.option("--unsafe", is_flag=True,
                        help="Allow .keras files with Lambda layers: runs code stored in the file. (MODEL as "
                             "file.py:function always runs that file's code.)")(func)
    return func


def load_inputs(model_spec, data_spec, image_size, normalize, unsafe, optimizer, lr, loss, batch_size, seed=0):
    from caedoctor.data import load_data
    from caedoctor.models import load_model

    data = load_data(data_spec, image_size=image_size, normalize=normalize, seed=seed)
    loaded = load_model(model_spec, data.input_shape, unsafe=unsafe, optimizer=optimizer, learning_rate=lr,
                        loss=loss, batch_size=batch_size)
    return data, loaded


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="caedoctor")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
def cli(debug):
    """caedoctor: why your convolutional autoencoder does not converge, proved by measurement, and fixed.

    MODEL is preset:seed_bad | preset:seed_better | preset:seed_hyper_bad, a .keras file, a spec
    .yaml/.json, or file.py:function. file.py:function imports and runs that Python file, under every
    command including `check` (a line on stderr says so): only for code you trust. A .keras file loads with
    safe_mode unless --unsafe.

    Exit codes: 0 success, 1 problems found, 2 usage or input error, 3 internal error (a bug in caedoctor:
    rerun with --debug for the traceback), 130 interrupted (Ctrl-C).
    """


@cli.command()
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
def train(model_spec, data_spec, image_size, normalize, unsafe, optimizer, lr, loss, batch_size, epochs,
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
        from caedoctor.monitor.callback import ConvergenceMonitor

        monitor = ConvergenceMonitor(monitor_data=data.sample(min(32, data.train_count), split="train"),
                                     log_dir=Path(out) / "logs" / "monitor")
        try:
            result = train_model(loaded, data, epochs=epochs, out_dir=out, resume=resume,
                                 steps_per_epoch=steps_per_epoch, verbose=_verbose(), on_nan=on_nan,
                                 seed=seed, callbacks=[monitor], unsafe=unsafe)
        finally:
            dist.finish()
    if not dist.is_chief:
        click.echo(f"worker {dist.task_type}:{dist.task_id} done ({result.epochs_run} epoch(s) run)")
        return
    m = result.metrics
    click.echo(f"trained {loaded.source} on {data.name}: {result.epochs_run} epoch(s) run, {result.epochs} in total, "
               f"{result.seconds:.1f} s")
    click.echo(f"validation: loss {m['val_loss']:.5g}  relative MSE {m['relative_mse']:.4f}  "
               f"PSNR {m['psnr']:.2f} dB  SSIM {m['ssim']:.4f}")
    click.echo(f"artefacts in {out}")
    if result.nan_guard and result.nan_guard["gave_up"]:
        _err(result.nan_guard["message"])
        sys.exit(1)


@cli.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True)
@click.option("--force", is_flag=True, help="Replace results already in --out.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@click.option("--no-diagnose", is_flag=True, help="Only train and compare; skip the diagnoses.")
@handle_errors
def demo(out_dir, force, seed, as_json, no_diagnose):
    """Train the field notes' three CAEs on bundled:patches32, compare them, and diagnose each."""
    from caedoctor.demo import run_demo
    from caedoctor.report.text import demo_table

    out = prepare_out_dir(out_dir, force=force)
    progress = (lambda m: click.echo(f"  ... {m}", err=True)) if not as_json else None
    rows = run_demo(out, seed=seed, verbose=_verbose(), diagnose=not no_diagnose, report=not no_diagnose,
                    progress=progress)
    if as_json:
        click.echo(json.dumps([{**{k: v for k, v in r.__dict__.items() if k not in ("diagnosis", "report")},
                                "out_dir": str(r.out_dir), "report": str(r.report) if r.report else None,
                                "diagnosis": r.diagnosis.to_dict() if r.diagnosis else None} for r in rows],
                              indent=2))
    else:
        demo_table(rows)
        click.echo(f"plots and metrics in {out}/<model>/")


# Command families live in caedoctor.commands; each is registered here with one line.
from caedoctor.commands.diagnose import diagnose as _diagnose  # noqa: E402
from caedoctor.commands.check import check_command, rule_command, rules_command  # noqa: E402
from caedoctor.commands.fix import fix_command as _fix  # noqa: E402
from caedoctor.commands.data import data_group as _data  # noqa: E402
from caedoctor.commands.lr_find import lr_find_command as _lr_find  # noqa: E402
from caedoctor.commands.run import run_command as _run  # noqa: E402

cli.add_command(_diagnose)
cli.add_command(check_command)
cli.add_command(rules_command)
cli.add_command(rule_command)
cli.add_command(_fix)
cli.add_command(_data)
cli.add_command(_lr_find)
cli.add_command(_run)


def quiet_tensorflow_import() -> None:
    """Import TensorFlow with its start-up banner (printed before its logging is set up) held back.

    What it prints goes to a temporary file; if the import fails, that text is shown after all.
    """
    import tempfile

    if "tensorflow" in sys.modules:
        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced (e.g. by a test runner)
        import tensorflow  # noqa: F401
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), fd)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, fd)
            held.seek(0)
            sys.stderr.buffer.write(held.read())
            raise
        finally:
            os.dup2(saved, fd)
            os.close(saved)


def main():
    if not any(a in ("-h", "--help", "--version") for a in sys.argv[1:]) and len(sys.argv) > 1:
        quiet_tensorflow_import()
    cli(prog_name="caedoctor")


if __name__ == "__main__":
    main()
