"""`RecordedFit`: one `keras.Model.fit` call as it started, and the one function that turns it into what
`diagnose` takes.

At the start of a watched `fit`, caedoctor records the set-up exactly as it is used there: the model's
architecture (its config) and weights at that moment, the compiled optimizer (the object, and its config at
that moment, before `fit` moves its step count and moments) and the compiled loss (the object given to
`compile`), the data passed to `fit` (arrays, `tf.data.Dataset`, `keras.utils.PyDataset`, a generator),
`batch_size`, `validation_data` / `validation_split`, `sample_weight` and `steps_per_epoch`. Recording
copies the weights only (milliseconds for a CAE); arrays and datasets are kept by reference, because
`fit` does not change them.

`diagnosis_inputs(recorded)` rebuilds that set-up on copies: a fresh model from the recorded config with
the recorded weights, compiled with a new optimizer from the recorded config and the recorded loss, passed
through the public `caedoctor.models.load_model` (which reads the compiled optimizer and loss), and the
data through `caedoctor.data.load_data` with the user's validation data. Whatever the diagnosis cannot
reproduce is said in `notes` (printed), never substituted silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from caedoctor.data import streams

# A generator can be read once: the batches the user's fit draws from it are copied for the diagnosis, up to
# this many bytes (the first ones; the notes say when there were more).
GENERATOR_LIMIT_BYTES = 256 * 2**20
DEFAULT_BATCH_SIZE = 32  # Keras' own when fit gets arrays and no batch_size


def data_kind(x) -> str:
    """"arrays", "dataset", "pydataset" or "generator" (any iterator) for what `fit` got as `x`."""
    kind = streams.stream_kind(x)
    return {"dataset": "dataset", "pydataset": "pydataset", "iterator": "generator"}.get(kind, "arrays")


class BatchTee:
    """Passes a generator's batches through to `fit` unchanged and keeps copies of them for the diagnosis."""

    def __init__(self, generator, limit_bytes: int = GENERATOR_LIMIT_BYTES):
        self.source = generator
        self.limit_bytes = limit_bytes
        self.batches: list = []
        self.bytes = 0
        self.truncated = False

    def _keep(self, batch) -> None:
        if self.truncated:
            return
        parts = batch if isinstance(batch, (tuple, list)) else (batch,)
        copied = tuple(None if p is None else np.array(p.numpy() if hasattr(p, "numpy") else p, copy=True)
                       for p in parts)
        size = sum(p.nbytes for p in copied if p is not None)
        if self.bytes + size > self.limit_bytes and self.batches:
            self.truncated = True
            return
        self.bytes += size
        self.batches.append(copied if isinstance(batch, (tuple, list)) else copied[0])

    def generator(self):
        """A generator (as Keras requires) yielding exactly the source's batches."""
        for batch in self.source:
            try:
                self._keep(batch)
            except Exception:  # noqa: BLE001 - a batch caedoctor cannot copy must still reach fit
                self.truncated = True
            yield batch


@dataclass
class RecordedFit:
    """A `fit` call as caedoctor saw it start. Plain data plus references to the user's objects."""

    index: int  # 1 for the first fit watched in this process, 2 for the next, ...
    model: object  # the user's keras.Model (the object; `config` and `weights` are its state at the start)
    config: dict | None  # model.get_config() at the start of fit (None for models without a config)
    weights: list  # numpy copies of every weight at the start of fit
    optimizer: object  # the compiled optimizer object
    optimizer_spec: object  # config.OptimizerSpec at the start of fit (class and every argument), or None
    loss: object  # the compiled loss as given to compile (a name, a Loss, a function)
    x: object
    y: object = None
    sample_weight: object = None
    batch_size: int | None = None
    epochs: int = 1
    steps_per_epoch: int | None = None
    validation_data: object = None
    validation_split: float = 0.0
    class_weight: object = None
    kind: str = "arrays"
    tee: BatchTee | None = field(default=None, repr=False)
    notes: list = field(default_factory=list)
    numbers: dict = field(default_factory=dict)  # the model's public plain numbers at the start (its beta)
    callbacks: list = field(default_factory=list)  # the class names of the user's own callbacks

    @property
    def name(self) -> str:
        return f"fit #{self.index} ({getattr(self.model, 'name', 'model')})"

    @property
    def key(self) -> tuple:
        """What makes two fits the same set-up: the model, its optimizer, the data and the batch size."""
        return id(self.model), id(self.optimizer), id(self.x), self.batch_size

    def horizon(self, data, batch_size: int):
        """The `Horizon` of this fit: its epochs x its steps per epoch (given, or its training samples over the
        batch size; `data`, the diagnosis' copy, counts them when the fit did not read arrays)."""
        from caedoctor.diagnosis.horizon import Horizon

        count = len(self.train_arrays()[0]) if self.kind == "arrays" and self.x is not None else data.train_count
        return Horizon.of_fit(self.epochs, self.steps_per_epoch, count, batch_size)

    @property
    def feed(self) -> str:
        """What the model's train step got from this fit: "x" (inputs alone) or "xy" (pairs). Read where the
        data says it without reading it: array targets, a dataset's element structure, a generator's first
        batch."""
        if self.kind == "arrays":
            return "x" if self.y is None else "xy"
        if self.kind == "dataset":
            spec = self.x.element_spec
            return "xy" if isinstance(spec, (tuple, list)) and len(spec) > 1 else "x"
        if self.kind == "generator" and self.tee is not None and self.tee.batches:
            first = self.tee.batches[0]
            return "xy" if isinstance(first, (tuple, list)) and len(first) > 1 else "x"
        return "xy"

    def train_arrays(self) -> tuple:
        """For array data: `(x, y, sample_weight)` of the training part (after `validation_split`)."""
        x, y, w = self.x, self.y, self.sample_weight
        if self.validation_split and self.validation_data is None:
            split_at = _split_at(len(x), self.validation_split)
            x, y, w = (None if a is None else a[:split_at] for a in (x, y, w))
        return x, y, w


def _split_at(n: int, fraction: float) -> int:
    """Where Keras' `validation_split` cuts arrays: the last `fraction` is validation, in order."""
    return int(math.floor(n * (1.0 - fraction)))


# Callbacks that only observe or stop a fit: the probes need not run them to train what the fit trained.
_OBSERVERS = ("History", "ProgbarLogger", "ModelCheckpoint", "BackupAndRestore", "CSVLogger", "TensorBoard",
              "EarlyStopping", "TerminateOnNaN", "RemoteMonitor")


def _own_callbacks(callbacks) -> list:
    """The class names of the user's callbacks that may change the training as it runs (a KL warm-up, a
    learning-rate schedule), caedoctor's own and Keras' observers left out."""
    if not isinstance(callbacks, (list, tuple)):
        return []
    names = [type(c).__name__ for c in callbacks]
    return [n for n, c in zip(names, callbacks)
            if n not in _OBSERVERS and not type(c).__module__.startswith("caedoctor")]


def record_fit(model, arguments: dict, index: int) -> RecordedFit:
    """Record a `fit` call from its bound arguments (names as in `keras.Model.fit`)."""
    from caedoctor.models.construction import numbers

    try:
        config = model.get_config()
    except Exception:  # noqa: BLE001 - subclassed models may have none; the object is cloned later
        config = None
    from caedoctor.config import OptimizerSpec
    from caedoctor.errors import ConfigError

    optimizer = getattr(model, "optimizer", None)
    notes = []
    try:
        # Read now: a callback (ReduceLROnPlateau) may change the rate during fit; the set-up is the start's.
        optimizer_spec = OptimizerSpec.of(optimizer) if optimizer is not None else None
    except ConfigError as exc:
        optimizer_spec = None
        notes.append(str(exc))
    x = arguments.get("x")
    kind = data_kind(x)
    rec = RecordedFit(
        index=index, model=model, config=config, weights=[np.array(w, copy=True) for w in model.get_weights()],
        optimizer=optimizer, optimizer_spec=optimizer_spec, loss=getattr(model, "loss", None), x=x,
        y=arguments.get("y"), sample_weight=arguments.get("sample_weight"),
        batch_size=arguments.get("batch_size"), epochs=arguments.get("epochs", 1),
        steps_per_epoch=arguments.get("steps_per_epoch"), validation_data=arguments.get("validation_data"),
        validation_split=float(arguments.get("validation_split") or 0.0),
        class_weight=arguments.get("class_weight"), kind=kind, notes=notes, numbers=numbers(model),
        callbacks=_own_callbacks(arguments.get("callbacks")))
    if kind == "generator":
        rec.tee = BatchTee(x)
    return rec


def monitor_batch(rec: RecordedFit, limit: int):
    """`(x, y)` numpy arrays for the monitor, or None when none can be taken without touching the data's state.

    Arrays: the first training samples. A `tf.data.Dataset`: its first batch when reading it changes nothing
    (no shuffle, random op or Python function in the pipeline: reading a dataset that reshuffles would
    change the order the user's `fit` then sees); else the validation arrays when `fit` got them. A
    `PyDataset`: its first batch. A generator: the first batch `fit` drew (through the tee).
    """
    if rec.kind == "arrays":
        x, y, _ = rec.train_arrays()
        x = np.asarray(x[:limit])
        return x, (x if y is None else np.asarray(y[:limit]))
    if rec.kind == "generator":
        return None  # deferred: taken from the tee once fit has drawn its first batch
    if rec.kind == "dataset" and pipeline_state(rec.x) is None:
        return streams.first_batch(rec.x, limit)
    if rec.kind == "pydataset":
        from caedoctor.watch.state import preserved_global_state

        with preserved_global_state():  # a PyDataset that augments with np.random must not shift its draws
            return streams.first_batch(rec.x, limit)
    val = rec.validation_data
    if isinstance(val, (tuple, list)) and val and streams.stream_kind(val[0]) is None:
        x = np.asarray(val[0][:limit])
        y = val[1] if len(val) > 1 and val[1] is not None else None
        return x, (x if y is None else np.asarray(y[:limit]))
    return None


_STATEFUL_OPS = ("PyFunc", "EagerPyFunc", "StatefulPartitionedCall")


def pipeline_state(dataset) -> str | None:
    """Why reading `dataset` could change what a later read gives (a shuffle, a random op, a Python
    function), or None when it cannot. Walks the pipeline's Python objects, not its serialised graph
    (which would copy every array held in it)."""
    seen, pending = set(), [dataset]
    while pending:
        ds = pending.pop()
        if id(ds) in seen:
            continue
        seen.add(id(ds))
        name = type(ds).__name__
        if any(word in name for word in ("Shuffle", "Random", "Generator", "Sample")):
            return f"its pipeline has a {name}"
        for attr in ("_map_func", "_predicate", "_func", "_reduce_func", "_key_func", "_window_size_func",
                     "_init_func", "_finalize_func", "_scan_func"):
            wrapper = getattr(ds, attr, None)
            function = getattr(wrapper, "function", None)
            graph = getattr(function, "graph", None)
            if graph is None:
                continue
            for op in graph.get_operations():
                kind = op.type
                if ("Random" in kind and not kind.startswith("Stateless")) or kind in _STATEFUL_OPS \
                        or kind.startswith("Stateful"):
                    return f"its {name} runs {kind}"
        try:
            pending.extend(ds._inputs())
        except Exception:  # noqa: BLE001 - a dataset type that does not list its inputs: assume the worst
            return f"caedoctor cannot see inside its {name}"
    return None


# ---------------------------------------------------------------- the set-up for a diagnosis


def _data_spec(rec: RecordedFit):
    """(DATA for load_data, validation or None, notes) for the recorded data."""
    notes = []
    if rec.class_weight is not None:
        notes.append("fit got class_weight, which has no meaning for an autoencoder's pixels; caedoctor ignores it")
    if rec.kind == "arrays":
        x, y, w = rec.train_arrays()
        if rec.y is None:
            notes.append("fit got no targets (y); the diagnosis uses the inputs as targets, as an autoencoder does")
        same = rec.y is None or rec.y is rec.x
        spec = x if same else (x, y)
        if w is not None:
            spec = (x, x if y is None else y, w)
    elif rec.kind == "generator":
        if rec.tee.truncated:
            notes.append(f"the diagnosis uses the first {len(rec.tee.batches)} batches your generator gave fit "
                         f"({rec.tee.bytes / 2**20:.0f} MB; a generator can be read only once)")
        spec = iter(rec.tee.batches)
    elif rec.kind == "dataset":
        import tensorflow as tf

        spec = rec.x
        if rec.steps_per_epoch and int(spec.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
            spec = spec.take(int(rec.steps_per_epoch))
            notes.append(f"the dataset repeats forever: the diagnosis uses one epoch of it ({rec.steps_per_epoch} "
                         "batches, fit's steps_per_epoch)")
    else:
        spec = rec.x
    validation = None
    if rec.validation_data is not None:
        validation = rec.validation_data
        if isinstance(validation, list):
            validation = tuple(validation)
        notes.append("validation: the validation_data given to fit")
    elif rec.validation_split and rec.kind == "arrays":
        split_at = _split_at(len(rec.x), rec.validation_split)
        vx = rec.x[split_at:]
        vy = None if rec.y is None or rec.y is rec.x else rec.y[split_at:]
        validation = vx if vy is None else (vx, vy)
        notes.append(f"validation: the last {rec.validation_split:.0%} of the arrays ({len(rec.x) - split_at} "
                     "samples), as fit's validation_split took them")
    elif rec.kind == "arrays":
        notes.append("validation: fit got none, so caedoctor holds out a seeded 10% of the training arrays for "
                     "its probes (give fit validation_data or validation_split to use yours)")
    else:
        notes.append("validation: fit got none, so caedoctor holds out every 10th sample of the data for its "
                     "probes (give fit validation_data to use yours)")
    return spec, validation, notes


def _rebuilt_model(rec: RecordedFit):
    """A new model with the recorded architecture and the weights it had at the start of fit (not compiled:
    the diagnosis compiles every probe with the exact optimizer and loss)."""

    model = None
    if rec.config is not None:
        try:
            model = type(rec.model).from_config(rec.config)
        except Exception:  # noqa: BLE001 - e.g. a subclassed model whose config does not rebuild it
            model = None
    if model is None:
        from caedoctor.models import fresh_copy

        model = fresh_copy(rec.model)
        for name, value in rec.numbers.items():  # as the fit began, not as its callbacks left them
            setattr(model, name, value)
    model.set_weights(rec.weights)
    return model


def _kl_weight_at_end(rec: RecordedFit, model) -> list:
    """Give `model` (the copy) the KL weight the user's model ended the fit with, when that differs from the one
    it began with; the note that says so, or []."""
    from caedoctor.reconstruction import kl_weight_of, set_kl_weight

    name, start = kl_weight_of(model)
    end_name, end = kl_weight_of(rec.model)
    if name is None or end_name != name or not math.isfinite(end) or end == start:
        return []
    set_kl_weight(model, name, end)
    return [f"model.{name} went from {start:g} to {end:g} while your fit ran (a warm-up or schedule in its "
            f"callbacks): the probes train with {end:g}, the weight your training ends with"]


def _config(rec: RecordedFit, batch_size: int, batch_origin: str):
    """The training configuration exactly as fit used it: the optimizer's class and every argument at the
    start of fit, the compiled loss object, the batch size fit trained with."""
    from caedoctor.config import DEFAULT_LOSS, LossSpec, OptimizerSpec, OwnLoss, TrainConfig
    from caedoctor.errors import ConfigError
    from caedoctor.reconstruction import overrides, trains_itself, where_it_trains
    from caedoctor.reconstruction import way as reconstruction_way

    notes = []
    if rec.optimizer_spec is not None:
        optimizer, opt_origin = rec.optimizer_spec, "model"
    else:
        optimizer, opt_origin = OptimizerSpec.named("adam"), "default"
        notes.append("the model was not compiled with an optimizer caedoctor can rebuild: the diagnosis trains "
                     f"with {optimizer.describe()}")
    if trains_itself(rec.model):
        loss, loss_origin = LossSpec.of(OwnLoss(where_it_trains(rec.model), rec.feed)), "model"
        notes.append(f"{type(rec.model).__name__} computes its own loss ({loss.own.where}): every probe lets it, "
                     "and reconstruction is measured as the mean squared error of "
                     f"{reconstruction_way(rec.model)} against the target"
                     + ("" if overrides(rec.model, "test_step") else "; Keras' validation pass needs a compiled loss or "
                                                        "an own test_step, so its probes track no validation "
                                                        "curve (the overfitting symptom is not read)"))
    else:
        try:
            loss, loss_origin = LossSpec.of(rec.loss if rec.loss is not None else DEFAULT_LOSS), \
                ("model" if rec.loss is not None else "default")
        except ConfigError as exc:
            raise ConfigError(f"{rec.name}: {exc}") from None
    origin = {"optimizer": opt_origin, "learning_rate": opt_origin, "loss": loss_origin, "batch_size": batch_origin}
    return TrainConfig(optimizer, None, loss, int(batch_size), origin=origin, notes=notes)


def diagnosis_inputs(rec: RecordedFit, *, seed: int = 0, kl_weight_frozen: bool = False):
    """`(LoadedModel, Data, notes)` that `diagnose` takes for the recorded set-up.

    A KL weight that the fit's callbacks changed while it ran (a warm-up from 0 to 1) is given to the copy at the
    value the fit ended with: the diagnosis is about where training ends, and a copy at the warm-up's 0 would
    train a different model (a VAE with no KL term). Not when `kl_weight_frozen` (CAE716: the traced step
    never saw the change, so the fit trained at its first value to the end).

    Raises:
        CaedoctorError: the data cannot be read or the model cannot be rebuilt (one sentence).
    """
    from caedoctor.data import load_data
    from caedoctor.errors import ModelError
    from caedoctor.models import LoadedModel, check_names

    spec, validation, notes = _data_spec(rec)
    data = load_data(spec, validation=validation, seed=seed)
    # fit(x, y) without batch_size trains with Keras' own 32: that is what the user's fit did.
    batch_size = data.batch_size or rec.batch_size or (DEFAULT_BATCH_SIZE if rec.kind == "arrays" else None)
    batch_origin = "fit" if batch_size else "default"
    batch_size = batch_size or DEFAULT_BATCH_SIZE
    try:
        model = _rebuilt_model(rec)
    except Exception as exc:  # noqa: BLE001 - custom layers without a config, and the like
        raise ModelError(f"{rec.name}: caedoctor cannot rebuild the model on a copy ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    config = _config(rec, batch_size, batch_origin)
    check_names(model, rec.name)
    if not kl_weight_frozen:
        notes += _kl_weight_at_end(rec, model)
    loaded = LoadedModel(model, config, rec.name)
    notes += list(rec.notes) + config.notes
    notes += [n for n in data.profile.notes if n.startswith("sample weights")]
    if rec.callbacks:
        notes.append(f"your fit's callbacks ({', '.join(rec.callbacks)}) may change the training as it runs (a "
                     "warm-up, a schedule): the probes train the set-up as the fit began and do not run them")
    return loaded, data, notes
