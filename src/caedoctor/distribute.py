"""Training under TensorFlow's own distribution strategies: `--strategy default|mirrored|multiworker`.

- `default`: no strategy (one device, what Keras does by itself).
- `mirrored`: `tf.distribute.MirroredStrategy`, synchronous data parallelism over this machine's GPUs
  (one CPU replica when there is no GPU).
- `multiworker`: `tf.distribute.MultiWorkerMirroredStrategy` over the machines that the `TF_CONFIG`
  environment variable describes, exactly as TensorFlow defines it::

      TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'

  Every worker runs the same `caedoctor train` command with its own `task`. The chief (the `chief` task,
  or worker 0 when there is none) writes the results to `--out`; the other workers write theirs to a
  temporary folder that is deleted at the end, as TensorFlow's multi-worker Keras guide recommends
  (every worker saves, so any collective work in saving runs everywhere, and only the chief's files last).
  With `--resume` every worker reads the chief's last checkpoint from `--out`, which must therefore be on a
  file system all workers see. See docs/distributed.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from caedoctor.errors import ConfigError

STRATEGIES = ("default", "mirrored", "multiworker")


def _parse_tf_config() -> dict:
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ConfigError("--strategy multiworker needs the TF_CONFIG environment variable (the cluster's "
                          "workers and this worker's task); see docs/distributed.md")
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"TF_CONFIG is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) or not config["cluster"]:
        raise ConfigError("TF_CONFIG needs a 'cluster' mapping like {\"worker\": [\"host1:port\", \"host2:port\"]}")
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ConfigError("TF_CONFIG needs a 'task' like {\"type\": \"worker\", \"index\": 0}")
    jobs = config["cluster"].get(task["type"])
    if not isinstance(jobs, list) or not isinstance(task["index"], int) or not 0 <= task["index"] < len(jobs):
        raise ConfigError(f"TF_CONFIG task {task['type']}:{task['index']} is not in the cluster "
                          f"({', '.join(f'{k}: {len(v)}' for k, v in config['cluster'].items())})")
    return config


def _reduce_nested_and_scalars(strategy) -> None:
    """Let Keras 3's `fit` run under MultiWorkerMirroredStrategy (keras-team/keras#20585, still open).

    Keras reduces with the strategy in two places that the multi-worker strategy rejects:
    - before training and evaluating, `reduce("MEAN", (x, y), axis=None)` on the first batch, only to
      learn its shapes for a symbolic build: a nested value (rejected), and the workers' batches may differ
      in size (a collective on mismatched shapes aborts). Here each worker keeps its own batch;
    - after each step, `reduce("MEAN", loss, axis=0)` on scalar logs, which have no axis 0. Here scalars
      are averaged across replicas without an axis, which is what Keras means.
    Keras' remaining use, `reduce("SUM", scalar)`, goes through unchanged. Only this instance is changed.
    """
    import tensorflow as tf

    reduce = strategy.reduce

    def nested_reduce(reduce_op, value, axis=None):
        def one(v):
            local = strategy.experimental_local_results(v)[0]
            rank = getattr(local.shape, "rank", None)
            if axis is None and rank != 0:  # the symbolic-build batch: its shapes are all that is used
                return local
            return reduce(reduce_op, v, axis=None if rank == 0 else axis)

        return tf.nest.map_structure(one, value)

    strategy.reduce = nested_reduce


class Distribution:
    """The strategy a training runs under, whether this process is the chief, and where it writes.

    Create it before any other TensorFlow work: MultiWorkerMirroredStrategy configures the collective
    ops, which TensorFlow allows only at program start.
    """

    def __init__(self, name: str = "default"):
        if name not in STRATEGIES:
            raise ConfigError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
        self.name = name
        self.strategy = None
        self.task_type, self.task_id = None, 0
        self._has_chief = False
        self._temp: Path | None = None
        if name == "default":
            return
        import tensorflow as tf

        if name == "mirrored":
            self.strategy = tf.distribute.MirroredStrategy()
            return
        config = _parse_tf_config()
        try:
            self.strategy = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as exc:  # "Collective ops must be configured at program startup"
            raise ConfigError(f"cannot start MultiWorkerMirroredStrategy ({exc}); it must be created before "
                              "any other TensorFlow work, i.e. in a fresh process") from None
        _reduce_nested_and_scalars(self.strategy)
        self.task_type = config["task"]["type"]
        self.task_id = config["task"]["index"]
        self._has_chief = "chief" in config["cluster"]

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync if self.strategy is not None else 1

    @property
    def is_chief(self) -> bool:
        """TensorFlow's rule: the `chief` task, or worker 0 of a cluster without one (or no cluster)."""
        if self.name != "multiworker":
            return True
        return self.task_type == "chief" or (self.task_type == "worker" and self.task_id == 0 and not self._has_chief)

    def scope(self):
        """Build, compile and train inside this: the strategy's variables are created here."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def output_dir(self, out: Path, prepare, *, resume: bool) -> Path:
        """The chief's `out` (made ready by `prepare()`); for other workers, a temporary folder.

        A worker that resumes gets a copy of the chief's last checkpoint in its temporary folder.
        """
        if self.is_chief:
            return prepare()
        self._temp = Path(tempfile.mkdtemp(prefix=f"caedoctor-{self.task_type}{self.task_id}-"))
        if resume:
            from caedoctor.training import CHECKPOINT_DIR, STATE_FILE, read_checkpoint_state

            state = read_checkpoint_state(out)
            if state is not None:
                (self._temp / CHECKPOINT_DIR).mkdir()
                for name in (STATE_FILE, state["checkpoint"]):
                    shutil.copy2(out / CHECKPOINT_DIR / name, self._temp / CHECKPOINT_DIR / name)
        return self._temp

    def finish(self) -> None:
        """Delete a non-chief worker's temporary output."""
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None
