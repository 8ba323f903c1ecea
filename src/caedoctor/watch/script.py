"""Run a user's script as `python script.py args...` would, with every `fit` watched.

`run_script(path, args, watcher)` sets `sys.argv` to `[path, *args]`, puts the script's folder first on
`sys.path` (symlinks resolved, as Python does), runs the file with `runpy` as `__main__` in the current
working folder, and returns the exit code Python would: 0 when it ends, the `sys.exit` code (a message
printed to stderr and 1 for a non-integer one), 1 after an uncaught exception, whose traceback is printed
from the script's own frames on, as Python prints it. `sys.argv` and `sys.path` are restored afterwards.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from pathlib import Path

from caedoctor.errors import CaedoctorError


def exit_code(code) -> int:
    """The process exit status Python gives `sys.exit(code)` (printing a non-integer code as it does)."""
    if code is None:
        return 0
    if isinstance(code, bool):
        return int(code)
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code % 256
    print(code, file=sys.stderr)
    return 1


def _print_traceback(exc: BaseException, script: str) -> None:
    """The traceback from the script's first frame on (caedoctor's and runpy's frames are not the user's)."""
    tb = exc.__traceback__
    target = os.path.realpath(script)
    start = tb
    while start is not None and os.path.realpath(start.tb_frame.f_code.co_filename) != target:
        start = start.tb_next
    sys.stdout.flush()
    traceback.print_exception(type(exc), exc, start if start is not None else tb, file=sys.stderr)


def run_script(path, args=(), watcher=None) -> int:
    """Run the script at `path` with `args`; every `fit` goes through `watcher` (see `caedoctor.watch`).

    Returns:
        The exit code `python path args...` would end with.

    Raises:
        CaedoctorError: the script does not exist or is not a file.
        KeyboardInterrupt: the user stopped the script.
    """
    from caedoctor.watch.patch import patch_fit, unpatch_fit

    script = Path(path)
    if not script.exists():
        raise CaedoctorError(f"script not found: {path}")
    if not script.is_file():
        raise CaedoctorError(f"{path} is not a Python script (a file)")
    saved_argv, saved_path0 = list(sys.argv), (sys.path[0] if sys.path else None)
    sys.argv = [str(path), *[str(a) for a in args]]
    folder = os.path.dirname(os.path.realpath(script))
    if sys.path:
        sys.path[0] = folder
    else:
        sys.path.insert(0, folder)
    if watcher is not None:
        patch_fit(watcher)
    code = 0
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exc:
        code = exit_code(exc.code)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the script's own error: printed as Python prints it
        _print_traceback(exc, str(path))
        code = 1
    finally:
        if watcher is not None:
            unpatch_fit()
        sys.argv = saved_argv
        if saved_path0 is not None and sys.path:
            sys.path[0] = saved_path0
        sys.stdout.flush()
    return code
