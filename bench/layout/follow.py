"""Can a reader follow a diagnosis and a repair through the code without coming back into a module they left?

Runs one small diagnosis with counterfactuals (a tiny CAE trained with Adam at 0.3 on bundled:patches32,
50-step probes) and the repair of it, with a profiler that sees every call between caedoctor's own modules
(Keras and TensorFlow frames in between are skipped). It counts

- the modules the flow passes through;
- the **re-entries**: a call into a module that is already on the call stack below the caller's module, i.e.
  the flow went from module A down into B and B (or something below it) calls back up into A. A reader who
  follows such a call must go back into a module already left. Callbacks count too: a function a higher
  module hands down (a progress line, an early-stopping rule) that a lower one calls is such a return.
  They are counted apart by who makes the call: caedoctor's own code (**direct**), or Keras/TensorFlow
  calling a hook caedoctor handed it (**through Keras**: a `keras.callbacks.Callback`, the `clone_function`
  of `keras.models.clone_model`), which is how Keras is meant to be extended.

Each distinct (from -> back into) pair is printed with how often it happened and one place it happened.

    .venv/bin/python bench/layout/follow.py            # about a minute on 2 cores
"""

from __future__ import annotations

import collections
import os
import sys
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class Follow:
    """A profiler of calls between caedoctor modules: the modules passed and the re-entries."""

    def __init__(self):
        self.modules: set = set()
        self.reentries: collections.Counter = collections.Counter()  # (caller module, module, direct) -> calls
        self.where: dict = {}
        self._stacks: dict = {}  # thread id -> [(frame, module)] of the caedoctor frames on its stack

    def __call__(self, frame, event, arg):
        if event not in ("call", "return"):
            return
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("caedoctor"):
            return
        stack = self._stacks.setdefault(threading.get_ident(), [])
        if event == "return":
            if stack and stack[-1][0] is frame:
                stack.pop()
            return
        self.modules.add(module)
        if stack:
            caller = stack[-1][1]
            below = {m for _, m in stack[:-1]}
            if module != caller and module in below:
                back = frame.f_back
                direct = back is not None and back.f_globals.get("__name__", "").startswith("caedoctor")
                key = (caller, module, direct)
                self.reentries[key] += 1
                self.where.setdefault(key, f"{back.f_globals.get('__name__') if back else '?'}:"
                                           f"{back.f_lineno if back else '?'} -> {module}.{frame.f_code.co_name}")
        stack.append((frame, module))

    def report(self, title: str) -> None:
        for direct, kind in ((True, "direct"), (False, "through Keras")):
            pairs = [(k, n) for k, n in self.reentries.most_common() if k[2] is direct]
            print(f"{title}: {len(self.modules)} modules, {sum(n for _, n in pairs)} {kind} re-entries "
                  f"({len(pairs)} distinct)")
            for key, n in pairs:
                print(f"  {n:5d}  {key[0]} -> back into {key[1]}   e.g. {self.where[key]}")


def _model():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.UpSampling2D()(x)
    outputs = keras.layers.Conv2D(3, 3, padding="same", activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.3), loss="mse")
    return model


def main() -> None:
    import caedoctor

    data = caedoctor.load_data("bundled:patches32")
    model = _model()
    options = {"steps": 50, "progress": None, "seed": 0}
    caedoctor.diagnose(model, data, **options)  # warm up: imports, tracing, data reading
    follow = Follow()
    threading.setprofile(follow)
    sys.setprofile(follow)
    try:
        diagnosis = caedoctor.diagnose(model, data, **options)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    follow.report(f"diagnose ({diagnosis.verdict}, {len(diagnosis.counterfactuals)} counterfactuals)")
    follow = Follow()
    threading.setprofile(follow)
    sys.setprofile(follow)
    try:
        result = caedoctor.repair(model, data, diagnosis=diagnosis, epochs=1, **options)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    follow.report(f"repair ({len(result.changes)} changes)")


if __name__ == "__main__":
    main()
