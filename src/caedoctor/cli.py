"""The `caedoctor` command: assembles the group from `caedoctor.commands`, one module per command.

The CLI is a thin layer over the Python API. Exit codes: 0 success, 1 findings, 2 usage or input error, 3
internal error, 130 interrupted. A `CaedoctorError` is printed as one line (exit 2); an unexpected failure
too, with a hint to rerun with `--debug` for the traceback (exit 3) (`caedoctor.commands._options`).
"""

from __future__ import annotations

import os
import sys

# TensorFlow's C++ log lines (oneDNN notices, grappler "remapper failed") are noise on a terminal; real
# failures still reach the user as Python exceptions. Library users keep their own setting.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import click  # noqa: E402

from caedoctor.commands.check import check_command, rule_command, rules_command  # noqa: E402
from caedoctor.commands.data import data_group  # noqa: E402
from caedoctor.commands.demo import demo_command  # noqa: E402
from caedoctor.commands.diagnose import diagnose_command  # noqa: E402
from caedoctor.commands.lr_find import lr_find_command  # noqa: E402
from caedoctor.commands.repair import fix_alias, repair_command  # noqa: E402
from caedoctor.commands.run import run_command  # noqa: E402
from caedoctor.commands.train import train_command  # noqa: E402
from caedoctor.version import __version__  # noqa: E402


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


# `caedoctor --help` lists them sorted by name (`fix`, the old name of `repair`, is hidden).
for _command in (train_command, demo_command, diagnose_command, check_command, rules_command, rule_command,
                 repair_command, fix_alias, data_group, lr_find_command, run_command):
    cli.add_command(_command)


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
