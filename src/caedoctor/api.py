"""`caedoctor.diagnose` and `caedoctor.repair`: the library's diagnosis and repair as one call each, with a
progress bar in notebooks, the user's batch size when the data says it, and the inputs kept on the result so
that a notebook shows the report with its reconstructions.

They take what `caedoctor.diagnosis.diagnose` and `caedoctor.repairing.procedure.repair` take (MODEL and
DATA in every form, and their keyword options) and return the same `Diagnosis` and `RepairResult`.
"""

from __future__ import annotations

from caedoctor.data import DEFAULT_DATA
from caedoctor.watch.patch import unwatched


def _inputs(model, data, seed: int, config_overrides):
    """`(LoadedModel, Data)`: DATA loaded, MODEL loaded for it (a batched dataset's batch size becomes the
    user's batch size in `Setup.of`, unless the model or a flag set one)."""
    from caedoctor.data import Data, load_data
    from caedoctor.models import LoadedModel, load_model

    if not isinstance(data, Data):
        data = load_data(data, seed=seed)
    overrides = dict(config_overrides or {})
    if isinstance(model, LoadedModel):
        if overrides:
            model = LoadedModel(model.model, model.config.with_overrides(**overrides), model.source)
        return model, data
    return load_model(model, data.input_shape, **overrides), data


def diagnose(model, data=DEFAULT_DATA, *, progress="auto", config_overrides: dict | None = None, seed: int = 0,
             **options):
    """Diagnose why `model` does (not) converge on `data`, proving each cause by a counterfactual probe.

    Args:
        model: a MODEL string (`preset:...`, `file.keras`, `spec.yaml`, `file.py:function`), a `keras.Model`
            (compiled or not) or a `LoadedModel`.
        data: a DATA string, an array, `(x, y)`, a `tf.data.Dataset`, a `keras.utils.PyDataset`, a generator
            of batches, or a loaded `Data`. A batched dataset's batch size is used unless `config_overrides`
            names one.
        progress: "auto" (a progress bar in a notebook, a spinner on a terminal), a callable(str), or None.
        config_overrides: optimizer / learning_rate / loss / batch_size to use instead of the model's own.
        seed: the seed of every probe; the same seed gives the same diagnosis.
        **options: `steps`, `quick`, `budget_seconds`, `lr_find_steps`, `sequential`, `jobs`, `executor`
            ("local" or "ray": where the counterfactual probes run) (see `caedoctor.diagnosis.diagnose`).

    Returns:
        `Diagnosis`: `verdict`, `findings` (each `confirmed`, `refuted`, `certain` or `suspected`, with its
        measured `effect`); `print` it for text, or leave it last in a notebook cell for the report.

    Example::

        import numpy as np, caedoctor

        x = np.random.default_rng(0).random((96, 16, 16, 1), dtype=np.float32)
        d = caedoctor.diagnose("preset:seed_hyper_bad", x, steps=50, quick=True)
        print(d.verdict)   # e.g. not_converging: Adam at 0.1 saturates the sigmoid output
        print(d)           # verdict, causes and refuted suspicions as text
    """
    from caedoctor.diagnosis import diagnose as run
    from caedoctor.display import attach_inputs
    from caedoctor.progress import progress_for

    loaded, data = _inputs(model, data, seed, config_overrides)
    with unwatched(), progress_for(progress, "diagnosis") as say:  # its probes are not the user's fits
        result = run(loaded, data, seed=seed, progress=say, **options)
    return attach_inputs(result, data=data, loaded=loaded)


def repair(model, data=DEFAULT_DATA, *, progress="auto", config_overrides: dict | None = None, seed: int = 0,
           **options):
    """Diagnose `model`, apply the fixes that measurably helped, verify them together, and retrain.

    Args:
        model, data, progress, config_overrides, seed: as for `caedoctor.diagnose`.
        **options: `diagnosis` (reuse a `Diagnosis` of this model and data), `epochs` or `budget_seconds`
            (the training budget of the final comparison), `steps` (per probe), `horizon_steps` (where a kept
            fix must be forecast to hold); see `caedoctor.repairing.procedure.repair`.

    Returns:
        `RepairResult`: `model` (the repaired, trained Keras model), `changes` (each kept or rolled back,
        with its measured effect), before/after metrics; `print` it, or show it in a notebook.

    Example::

        import numpy as np, caedoctor

        x = np.random.default_rng(0).random((96, 16, 16, 1), dtype=np.float32)
        result = caedoctor.repair("preset:seed_hyper_bad", x, steps=25, epochs=1)
        print(result.converged, [c.what for c in result.kept_changes()])
        print(result)      # before and after, each change with its measured effect
    """
    from caedoctor.display import attach_inputs
    from caedoctor.progress import progress_for
    from caedoctor.repairing.procedure import repair as run

    loaded, data = _inputs(model, data, seed, config_overrides)
    with unwatched(), progress_for(progress, "repair") as say:  # its probes and trainings are not the user's fits
        result = run(loaded, data, seed=seed, progress=say, **options)
    return attach_inputs(result, data=data, loaded=loaded)
