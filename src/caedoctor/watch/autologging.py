"""`autolog`: the one watcher of this process, patched into `keras.Model.fit`, and what it has seen.

`autolog()` installs a `Watcher` (`session`) on `fit` (`patch`); `last_diagnosis()` and `watched_fits()` read
it, and keep answering after `autolog(disable=True)`. `caedoctor run` installs its own watcher here too, so
both answer for a script's fits.
"""

from __future__ import annotations

from caedoctor.thresholds import DEFAULT_BUDGET_SECONDS
from caedoctor.watch.session import WHEN, Watcher

_watcher: Watcher | None = None
_last = None  # kept after disable, so last_diagnosis() still answers


def autolog(diagnose: str = "on-problem", report_dir=None, quick: bool = False, *, steps: int | None = None,
            seed: int = 0, on_nan: str | None = None, budget_seconds: float | None = DEFAULT_BUDGET_SECONDS,
            mlflow: bool | None = None, tensorboard=None, disable: bool = False) -> None:
    """Watch every `keras.Model.fit` in this process and diagnose the ones that go wrong.

    `fit` is patched once on `keras.Model` (as MLflow's autolog does): each call gets caedoctor's
    `ConvergenceMonitor` appended to its callbacks and otherwise computes exactly what it would without
    caedoctor (the monitor only observes; its cost is about 1-2% of the fit). At the start of each fit the
    set-up is recorded (model architecture and weights, the compiled optimizer and loss, the data,
    `batch_size`, the validation data). After the fit, when the monitor saw a problem (or always, if asked),
    caedoctor diagnoses that set-up on copies, shows the verdict and causes (in a notebook: the report, inline)
    and keeps the `Diagnosis` for `last_diagnosis()`. Calling `autolog` again changes the options.

    Example::

        import numpy as np, keras, caedoctor

        caedoctor.autolog(diagnose="always", quick=True, steps=50)
        x = np.random.default_rng(0).random((64, 16, 16, 1), dtype=np.float32)
        model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Conv2D(4, 3, padding="same"),
                                  keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, x, batch_size=16, epochs=1, verbose=0)   # then: the diagnosis of this set-up
        print(caedoctor.last_diagnosis().verdict)
        caedoctor.autolog(disable=True)                       # keras.Model.fit is the original again

    Args:
        diagnose: "on-problem" (default), "always" or "never" (monitor only).
        report_dir: also write each diagnosis's HTML report into this folder (`fit-N/` for later ones).
        quick: a quick diagnosis (static checks, one probe, the verdict; no counterfactual probes).
        steps: training steps per probe (default: the diagnosis default, 500).
        seed: the seed of every probe.
        budget_seconds: time for each diagnosis, baseline included (None: no limit); causes not tested in
            time stay suspected, with the reason.
        on_nan: "rollback" adds `caedoctor.nan_guard.NaNGuard` to each fit: when the loss turns NaN it
            restores the last good weights and lowers the learning rate. This changes the training; without
            it caedoctor never does.
        mlflow: log each diagnosis into MLflow (`caedoctor.log_to_mlflow`): None (default) does when an MLflow
            run is active at the end of the fit, True always (a new run when none is), False never. With
            MLflow's own autolog on, caedoctor's probes run with it paused: each metric of your fit is logged
            once, by MLflow.
        tensorboard: a folder: each diagnosis writes its probes' curves there as TensorBoard runs
            (`caedoctor.write_tensorboard`; `fit-N/` for later fits).
        disable: restore `keras.Model.fit` exactly and stop watching.

    Raises:
        ValueError: an option outside its choices (the message quotes what was received).
    """
    global _watcher, _last
    from caedoctor.progress import in_notebook
    from caedoctor.watch.patch import patch_fit, unpatch_fit

    if disable:
        if _watcher is not None:
            _last = _watcher.last
        unpatch_fit()
        _watcher = None
        return
    if diagnose not in WHEN:
        raise ValueError(f"autolog(diagnose=...) must be one of {', '.join(WHEN)}. Received diagnose={diagnose!r}")
    if on_nan not in (None, "rollback"):
        raise ValueError(f"autolog(on_nan=...) must be None or 'rollback'. Received on_nan={on_nan!r}")
    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
        raise ValueError(f"autolog(steps=...) must be a positive integer. Received steps={steps!r}")
    previous = _watcher
    if budget_seconds is not None and not (isinstance(budget_seconds, (int, float)) and budget_seconds > 0):
        raise ValueError(f"autolog(budget_seconds=...) must be a positive number or None. "
                         f"Received budget_seconds={budget_seconds!r}")
    if mlflow not in (None, True, False):
        raise ValueError(f"autolog(mlflow=...) must be None, True or False. Received mlflow={mlflow!r}")
    _watcher = Watcher(diagnose, quick=quick, steps=steps, seed=seed, report_dir=report_dir, on_nan=on_nan,
                       notebook=in_notebook(), budget_seconds=budget_seconds, mlflow=mlflow,
                       tensorboard_dir=tensorboard)
    if previous is not None:  # new options; what was watched and diagnosed so far stays known
        _watcher.fits, _watcher.last = previous.fits, previous.last
        _watcher._diagnosed, _watcher._count = previous._diagnosed, previous._count
    patch_fit(_watcher)


def last_diagnosis():
    """The latest `Diagnosis` made by `autolog` (or `caedoctor run`) in this process, or None.

    Example::

        import caedoctor
        d = caedoctor.last_diagnosis()   # None until a watched fit was diagnosed
        if d is not None:
            print(d.verdict, [f.cause for f in d.confirmed()])
    """
    if _watcher is not None and _watcher.last is not None:
        return _watcher.last
    return _last


def watched_fits() -> list:
    """The fits watched since `autolog` was enabled (`WatchedFit`: recorded set-up, monitor, diagnosis)."""
    return list(_watcher.fits) if _watcher is not None else []


def _set_watcher(watcher) -> None:
    """Used by `caedoctor run` so `last_diagnosis()` answers for the script's fits too."""
    global _watcher
    _watcher = watcher
