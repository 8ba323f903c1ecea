"""Progress of a long computation (a diagnosis, a repair) for people: a bar in a notebook, a spinner line on
a terminal, nothing when the output is piped.

The diagnosis reports its stages as short messages (`progress=callable(str)`). Raw log lines in a notebook
cell pile up and hide the result, so in Jupyter the messages drive one HTML `<progress>` bar updated in
place (`IPython.display` handles: plain HTML, no widget library, no JavaScript). On a terminal, rich shows a
spinner with the current stage and the elapsed time on stderr and removes it when done.
"""

from __future__ import annotations

import contextlib
import html
import sys
import time


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where rich output and HTML display work), False elsewhere."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except Exception:  # noqa: BLE001 - an IPython that cannot say: not a notebook
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


class NotebookProgress:
    """A progress bar in a notebook cell: the stage, how many stages ran and the elapsed time."""

    def __init__(self, title: str):
        from IPython.display import HTML, display

        self._html = HTML
        self.title = title
        self.start = time.perf_counter()
        self.stages = 0
        self.handle = display(HTML(self._render("starting", done=False)), display_id=True)

    def _render(self, message: str, done: bool) -> str:
        elapsed = time.perf_counter() - self.start
        bar = '<progress value="1" max="1"' if done else "<progress"  # no value: an indeterminate bar
        return (f'<div class="caedoctor-progress" style="font-family: sans-serif; font-size: 13px">'
                f'{bar} style="width: 16em; vertical-align: middle"></progress> '
                f"<b>caedoctor {html.escape(self.title)}</b> · "
                f"{'' if done else f'stage {self.stages}: '}{html.escape(message)} · {elapsed:.0f} s</div>")

    def __call__(self, message: str) -> None:
        self.stages += 1
        self.handle.update(self._html(self._render(message, done=False)))

    def close(self, message: str = "done") -> None:
        self.handle.update(self._html(self._render(message, done=True)))


class TerminalProgress:
    """A transient rich spinner on stderr with the current stage and the elapsed time."""

    def __init__(self, title: str):
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(SpinnerColumn(), TextColumn(f"caedoctor {title}: {{task.description}}"),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.progress.start()
        self.task = self.progress.add_task("starting", total=None)

    def __call__(self, message: str) -> None:
        self.progress.update(self.task, description=message)

    def close(self, message: str = "done") -> None:
        self.progress.stop()


def silent(_message: str) -> None:
    """The progress of a computation nobody watches (`progress=None`): says nothing."""


@contextlib.contextmanager
def progress_for(progress="auto", title: str = "diagnosis"):
    """Yield the `progress` callable a diagnosis or repair should get.

    `progress`: a callable (used as it is), None (silent), or "auto": a bar in a notebook, a spinner when
    stderr is a terminal, else silent.
    """
    if progress != "auto":
        yield progress
        return
    shown = None
    try:
        if in_notebook():
            shown = NotebookProgress(title)
        elif sys.stderr.isatty():
            shown = TerminalProgress(title)
    except Exception:  # noqa: BLE001 - a display that cannot show progress must not cost the user the result
        shown = None
    try:
        yield shown
    except BaseException:
        if shown is not None:
            shown.close("stopped")
        raise
    if shown is not None:
        shown.close(f"done in {time.perf_counter() - getattr(shown, 'start', time.perf_counter()):.0f} s"
                    if isinstance(shown, NotebookProgress) else "done")
