"""What every command shares: the options for DATA, MODEL's training set-up and images, loading them, the
output folder, and one-line errors with the documented exit codes."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

EXIT_USAGE = 2
_IMAGE_SIZE_HELP = "Resize every image to N x N (folders of mixed sizes need it)."
_NORMALIZE_HELP = "'unit' divides uint8 images by 255; 'none' keeps values as they are."


def err(message: str) -> None:
    """Print `caedoctor: error: message` on stderr."""
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
            err(str(exc))
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            err("interrupted")
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug in caedoctor or an input we did not anticipate
            if debug:
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            err(f"unexpected {type(exc).__name__}: {first[:300]} (rerun with --debug for the traceback)")
            sys.exit(3)

    return wrapper


def keras_verbosity() -> int:
    """Keras' fit verbosity: a progress bar on a terminal, one line per epoch when piped."""
    return 1 if sys.stdout.isatty() else 2


def prepare_out_dir(out: Path, *, force: bool, resume: bool = False) -> Path:
    """Create `out`; refuse to overwrite earlier results unless `force` (or when resuming into it).

    `force` removes only what caedoctor wrote there (see `caedoctor.out_folder`): a folder holding anything
    else, or one caedoctor did not create, is refused with nothing deleted.
    """
    from caedoctor.out_folder import prepare

    return prepare(out, force=force, resume=resume)


def image_size_option(help: str = _IMAGE_SIZE_HELP):
    """--image-size N: resize every image to N x N."""
    return click.option("--image-size", type=click.IntRange(min=1), default=None, help=help)


def normalize_option(help: str = _NORMALIZE_HELP):
    """--normalize none|unit: keep values, or divide uint8 images by 255."""
    return click.option("--normalize", type=click.Choice(["none", "unit"]), default="none", show_default=True,
                        help=help)


def data_options(func):
    """--data DATA (default bundled:patches32) and the image options."""
    func = image_size_option()(func)
    func = normalize_option()(func)
    func = click.option("--data", "data_spec", default="bundled:patches32", show_default=True,
                        help="DATA: bundled:NAME, keras:NAME, file.npz, file.npy, file.tfrecord or a folder of "
                             "images/TFRecords.")(func)
    return func


def config_options(func):
    """--batch-size, --loss, --lr, --optimizer and --unsafe: the training set-up, as flags over the model's own."""
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
    """(Data, LoadedModel) from the DATA and MODEL arguments and the set-up flags."""
    from caedoctor.data import load_data
    from caedoctor.models import load_model

    data = load_data(data_spec, image_size=image_size, normalize=normalize, seed=seed)
    loaded = load_model(model_spec, data.input_shape, unsafe=unsafe, optimizer=optimizer, learning_rate=lr,
                        loss=loss, batch_size=batch_size)
    return data, loaded
