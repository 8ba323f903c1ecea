"""Where a diagnosis' independent probes run: in this process (`LocalExecutor`) or as Ray tasks, each in its
own process with its own TensorFlow, on this machine or on a cluster (`RayExecutor`).

The counterfactual probes of a diagnosis do not depend on each other: each trains a changed copy of the
baseline from the same seed (`diagnosis.counterfactuals`). `diagnose(jobs=N)` runs them N at a time in
threads of this process; `diagnose(executor="ray")` sends each to Ray, as many at a time as the cluster has
CPUs (or `jobs`), and judges them here in the same order as one after the other. The probes that depend on
each other stay here: the baseline (its monitor reads the user's callbacks), the learning-rate range test,
and the trainings on of a kept probe (`extend_probe`), which continue from the state a Ray probe sent back.

A probe sent to Ray is the same probe: the set-up travels as the bytes that rebuild it (`shipping`), its
model is copied and seeded there exactly as here (TensorFlow's deterministic ops on both sides), and it is
scored on the same check and evaluation batches. A set-up that cannot travel (a Python-generator pipeline, a
model rebuilt from recorded constructor calls) runs here, and the diagnosis says so once. A probe that fails
there (an exception, a worker that died) raises `ExecutorError` with Ray's reason: it is never dropped.

Ray: `RAY_ADDRESS` (or `address=`) names a running cluster; without it a local Ray is started for the run
and stopped at its end. `pip install 'caedoctor[ray]'`. See docs/scaling.md for a cluster with GPUs.

Example::

    from caedoctor.probing.executors import executor_for
    executor = executor_for("ray")            # local Ray with this machine's CPUs, or RAY_ADDRESS
    executor.parallel                        # probes at a time
    probe, state = executor.run_probe(setup, seconds_left=None, steps=500, seed=0, label="x", keep=False)
    executor.close()
"""

from __future__ import annotations

import os
import threading
import time

from caedoctor.errors import ExecutorError
from caedoctor.probing.shipping import ship_config, ship_data, ship_model

EXECUTORS = ("local", "ray")
RAY_MISSING = "--executor ray needs Ray, which is not installed: pip install 'caedoctor[ray]'"


def require_ray():
    """The `ray` module; ExecutorError with the install command when it is missing."""
    try:
        import ray
    except ImportError:
        raise ExecutorError(RAY_MISSING) from None
    return ray


class LocalExecutor:
    """Probes in this process: `jobs` counterfactual probes side by side in threads (1: one after another)."""

    name = "local"
    remote = False

    def __init__(self, jobs: int = 1):
        self.parallel = max(1, int(jobs))
        self.ran_here: dict = {}

    def describe(self) -> str:
        return "this process" + (f", {self.parallel} probes side by side (threads)" if self.parallel > 1 else "")

    def close(self) -> None:
        pass


class RayExecutor:
    """Probes as Ray tasks (module doc). `address`: a running cluster (default `RAY_ADDRESS`; none: a local
    Ray started here with this machine's CPUs). `cpus_per_probe` and `gpus_per_probe`: what each task holds
    (on a cluster with GPUs, `gpus_per_probe=1` gives each probe its own). `jobs`: at most this many probes
    at a time (None: as many as the cluster's CPUs allow). `cpus`: the CPUs of a local Ray started here
    (default: this machine's)."""

    name = "ray"
    remote = True

    def __init__(self, address: str | None = None, *, cpus_per_probe: float = 1, gpus_per_probe: float = 0,
                 jobs: int | None = None, cpus: int | None = None, say=None):
        ray = require_ray()
        self._ray, self._say = ray, say or (lambda s: None)
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.started_here = False
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False, **({} if self.address else {"num_cpus": cpus or os.cpu_count() or 1}))
            except Exception as exc:  # noqa: BLE001 - any failure to reach or start Ray is the same answer
                where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
                raise ExecutorError(f"--executor ray could not start {where} ({type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
            self.started_here = True
        cpus = float(ray.cluster_resources().get("CPU", 1))
        fits = max(1, int(cpus // cpus_per_probe)) if cpus_per_probe else 1
        self.parallel = max(1, min(fits, int(jobs))) if jobs else fits
        self._task = ray.remote(num_cpus=cpus_per_probe, num_gpus=gpus_per_probe, max_retries=0)(_probe_task)
        self._shipped: dict = {}  # id(data) -> (data, object ref of its ShippedData, key)
        self._lock = threading.Lock()  # probes side by side ship each data once
        self.ran_here: dict = {}  # reason -> how many probes ran here for it

    def describe(self) -> str:
        where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
        return f"Ray tasks on {where}, {self.parallel} at a time"

    def run_probe(self, setup, *, seconds_left: float | None, **run) -> tuple:
        """(ProbeResult, trained state or None) of `probes.run_probe(setup, **run)` run as a Ray task;
        NotShippable when `setup` cannot travel (the caller runs it here). `seconds_left`: the budget's
        deadline as seconds from now (clocks differ between machines)."""
        data_ref, key = self._data(setup.data)
        model, config = ship_model(setup.model), ship_config(setup.config)
        sent = time.perf_counter()
        future = self._task.remote([data_ref], key, model, config, setup.source, run,
                                   None if seconds_left is None else seconds_left)
        try:
            probe, state = self._ray.get(future)
        except Exception as exc:  # noqa: BLE001 - a task's failure surfaces, with Ray's reason, never lost
            raise ExecutorError(f"the probe {run.get('label', '')!r} failed as a Ray task: "
                                f"{_reason(exc)}") from exc
        probe.timing = {**probe.timing, "transfer": max(0.0, time.perf_counter() - sent - probe.seconds)}
        return probe, state

    def _data(self, data) -> tuple:
        """(object ref, key) of `data` shipped to the cluster's object store, once per data object."""
        with self._lock:
            entry = self._shipped.get(id(data))
            if entry is None or entry[0] is not data:
                shipped = ship_data(data)
                entry = (data, self._ray.put(shipped), shipped.key)
                self._shipped[id(data)] = entry
            return entry[1], entry[2]

    def close(self) -> None:
        """Let go of the data sent to the cluster; stop the local Ray if this executor started it."""
        self._shipped.clear()
        if self.started_here and self._ray.is_initialized():
            self._ray.shutdown()
            self.started_here = False


def executor_for(name: str = "local", *, jobs: int = 1, say=None):
    """The executor named `name` (`EXECUTORS`): "local" runs `jobs` probes side by side in threads; "ray"
    sends them to Ray (`RayExecutor`; `jobs` > 1 caps how many run at a time)."""
    if name == "local":
        return LocalExecutor(jobs)
    if name == "ray":
        return RayExecutor(jobs=jobs if jobs > 1 else None, say=say)
    raise ExecutorError(f"unknown executor {name!r}: choose one of {', '.join(EXECUTORS)}")


def note_ran_here(executor, reason: str) -> bool:
    """Count a probe the executor could not send (`NotShippable`); True the first time for this reason."""
    first = reason not in executor.ran_here
    executor.ran_here[reason] = executor.ran_here.get(reason, 0) + 1
    return first


def _reason(exc: Exception) -> str:
    """Ray's error in one line: the task's own exception where it raised one, else what Ray says (a worker
    that died, a node lost)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, Exception):
        return f"{type(cause).__name__}: {str(cause).splitlines()[0][:300] if str(cause) else ''}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


# ------------------------------------------------------------------------------------- in the Ray worker

_OPENED: dict = {}  # ShippedData.key -> Data, the last few opened in this worker process
_KEEP_OPENED = 2


def _probe_task(data_ref: list, key: str, model: bytes, config: bytes, source: str, run: dict,
                seconds_left: float | None) -> tuple:
    """In a Ray worker: rebuild the set-up, run the probe exactly as `probes.run_probe` runs it here, and send
    back its result (without the model) and, for a kept probe, its trained state."""
    import pickle

    from caedoctor.probing import probes
    from caedoctor.probing.shipping import trained_state
    from caedoctor.setup import Setup

    data = _OPENED.get(key)
    if data is None:
        import ray

        data = ray.get(data_ref[0]).open()
        while len(_OPENED) >= _KEEP_OPENED:
            _OPENED.pop(next(iter(_OPENED)))
        _OPENED[key] = data
    setup = Setup(pickle.loads(model), pickle.loads(config), data, source)
    deadline = None if seconds_left is None else time.perf_counter() + seconds_left
    probe = probes.run_probe(setup, deadline=deadline, **run)
    state = trained_state(probe.live.model) if probe.live is not None else None
    if probe.live is not None:
        probe.live.drop()
    probe.live, probe.monitor = None, None
    return probe, state
