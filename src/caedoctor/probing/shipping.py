"""Send a probe to another process: its set-up packed into what rebuilds it there, and its trained state back.

A probe that runs in another process (`executors.RayExecutor`) must train exactly what it would have trained
here. What it takes, and how each part travels:

- the model: pickled by Keras itself (a Keras 3 model pickles as its `.keras` archive); the process there
  makes its fresh copy from it as `probes.run_probe` does here. A subclassed model rebuilt from the
  constructor calls caedoctor recorded (`caedoctor.models.construction`) has no such archive: it is refused.
- the training configuration (optimizer class and arguments, the loss object, the batch size): pickled.
- the data: the `tf.data` pipelines as the graphs TensorFlow serialises them to (`Dataset._as_serialized_graph`:
  the arrays, the file names and every `map` a fix added), with the profile. A pipeline that calls back into
  Python (a generator, `PyDataset`, `tf.py_function`) cannot leave this process: it is refused with the reason.
  File names travel as names: on a cluster the files must be at the same path on every node.

What is refused raises `NotShippable`; the executor then runs that probe here and says why once.

A kept probe (`run_probe(keep=True)`, so that `extend_probe` can train it on) comes back as its variables
(`trained_state`: the model's, seed generators and metrics included, and the optimizer's), which
`restore_state` puts into a model built here from the same seed: the same model, trained on from there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np

from caedoctor.data import Data


class NotShippable(Exception):
    """This set-up cannot be rebuilt in another process (the message says which part and why)."""


@dataclass
class _Counted:
    """A stand-in for a split of the data's source where only its length is read (the shuffle buffer)."""

    count: int

    def __len__(self) -> int:
        return self.count


@dataclass
class _CountedSource:
    train: _Counted
    val: _Counted


@dataclass
class ShippedData:
    """`Data` as bytes and plain values; `open()` rebuilds it (in any process with TensorFlow)."""

    key: str
    name: str
    graphs: tuple  # (train, val) serialised GraphDefs
    specs: tuple  # (train, val) element specs
    profile: object
    counts: tuple  # (train, val) lengths of the source's splits
    preprocessing: list = field(default_factory=list)
    scales: tuple = ((1.0, 0.0), (1.0, 0.0))
    batch_size: int | None = None

    def open(self) -> Data:
        """The `Data` these bytes describe: the same pipelines, rebuilt from their graphs."""
        import tensorflow as tf
        from tensorflow.python.data.ops import dataset_ops

        def pipeline(graph, spec):
            return dataset_ops._VariantDataset(tf.raw_ops.DatasetFromGraph(graph_def=graph), spec)

        train, val = (pipeline(g, s) for g, s in zip(self.graphs, self.specs))
        return Data(name=self.name, train=train, val=val, profile=self.profile,
                    source=_CountedSource(_Counted(self.counts[0]), _Counted(self.counts[1])),
                    preprocessing=list(self.preprocessing), scales=self.scales, batch_size=self.batch_size)


def ship_data(data: Data) -> ShippedData:
    """`data` packed for another process; NotShippable when a pipeline calls back into Python."""
    import tensorflow as tf

    graphs = []
    for split, ds in (("training", data.train), ("validation", data.val)):
        try:
            graph = ds._as_serialized_graph(external_state_policy=tf.data.experimental.ExternalStatePolicy.FAIL)
        except (tf.errors.OpError, ValueError, TypeError) as exc:
            raise NotShippable(
                f"the {split} pipeline of {data.name} calls back into Python (a generator, a PyDataset or a "
                f"tf.py_function), which cannot run in another process ({_first_line(exc)})") from None
        graphs.append(graph.numpy())
    return ShippedData(key=uuid.uuid4().hex, name=data.name, graphs=tuple(graphs),
                       specs=(data.train.element_spec, data.val.element_spec), profile=data.profile,
                       counts=(len(data.source.train), len(data.source.val)),
                       preprocessing=list(getattr(data, "preprocessing", [])), scales=data.scales,
                       batch_size=data.batch_size)


def ship_model(model) -> bytes:
    """`model` pickled (Keras 3 pickles a model as its `.keras` archive); NotShippable with the reason when it
    cannot be (a subclassed model without `get_config`, whose copies caedoctor rebuilds from the constructor
    calls it recorded in this process)."""
    import cloudpickle

    from caedoctor.models.construction import construction

    compiled = getattr(model, "compiled", False)
    try:
        # as an uncompiled model, as `fresh_copy` copies it: every probe compiles its copy with the exact
        # optimizer and loss (the configuration travels on its own), and a loss Keras cannot deserialise
        # must not stop the model from travelling
        model.compiled = False
        return cloudpickle.dumps(model)
    except Exception as exc:  # noqa: BLE001 - whatever Keras or pickle refuse is the same answer
        if construction(model) is not None:
            raise NotShippable(f"{type(model).__name__} has no get_config(): caedoctor rebuilds its copies from the "
                               "constructor calls it recorded in this process, which another process does not "
                               "have") from None
        raise NotShippable(f"Keras could not save {type(model).__name__} to send it ({type(exc).__name__}: "
                           f"{_first_line(exc)})") from None
    finally:
        if isinstance(model, object) and hasattr(model, "compiled"):
            model.compiled = compiled


def ship_config(config) -> bytes:
    """The training configuration pickled (the optimizer's class and arguments, the loss object)."""
    import cloudpickle

    try:
        return cloudpickle.dumps(config)
    except Exception as exc:  # noqa: BLE001 - a loss object that does not pickle
        raise NotShippable(f"the training configuration cannot be sent ({type(exc).__name__}: "
                           f"{_first_line(exc)})") from None


def trained_state(model) -> dict:
    """The variables of a trained probe's model and of its optimizer, as numpy arrays in their order."""
    optimizer = getattr(model, "optimizer", None)
    return {"model": [np.array(v.numpy()) for v in model.variables],
            "optimizer": [np.array(v.numpy()) for v in optimizer.variables] if optimizer is not None else []}


def restore_state(model, state: dict) -> None:
    """Put `trained_state`'s variables into `model` (built and compiled here for the same set-up and seed)."""
    variables = model.variables
    if len(variables) != len(state["model"]):
        raise ValueError(f"the probe came back with {len(state['model'])} variables; the model built here has "
                         f"{len(variables)}")
    for variable, value in zip(variables, state["model"]):
        variable.assign(value)
    optimizer = model.optimizer
    if state["optimizer"]:
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        if len(optimizer.variables) != len(state["optimizer"]):
            raise ValueError(f"the probe's optimizer came back with {len(state['optimizer'])} variables; the one "
                             f"built here has {len(optimizer.variables)}")
        for variable, value in zip(optimizer.variables, state["optimizer"]):
            variable.assign(value)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
