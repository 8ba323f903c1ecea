"""Keep the user's process as it was: the random number generators and Keras' name counters, saved before
caedoctor does its own work inside the user's process and restored after.

A diagnosis seeds every generator (`keras.utils.set_random_seed`), turns on TensorFlow's op determinism and
builds models (each unnamed one takes the next "functional_N"). Run right after a user's `fit` (autolog),
that would change what the user's next cell computes: another weight initialisation, another shuffle order,
other layer names in `model.summary()`. So Python's, NumPy's, Keras' and TensorFlow's global random state,
the op-determinism switch and Keras' name counters are saved and put back.

What cannot be put back: TensorFlow clears the kernel cache of stateful random ops when a seed is set, so an
op called with an explicit op seed (`tf.random.uniform(..., seed=1)`) starts its sequence again. Keras 3's
own random ops (initialisers, dropout) are stateless and unaffected.
"""

from __future__ import annotations

import contextlib
import copy
import random


def _keras_state():
    from keras.src.backend.common import global_state

    return global_state


@contextlib.contextmanager
def preserved_names():
    """Restore Keras' counters of automatic names ("functional_3", "conv2d_7") on exit."""
    try:
        global_state = _keras_state()
        saved = copy.copy(global_state.get_global_attribute("object_name_uids"))
    except Exception:  # noqa: BLE001 - a Keras without this private state: names are not protected
        yield
        return
    try:
        yield
    finally:
        global_state.set_global_attribute("object_name_uids", saved)


@contextlib.contextmanager
def preserved_global_state():
    """Restore the global random state, op determinism and Keras' name counters on exit."""
    import numpy as np

    saved_python = random.getstate()
    saved_numpy = np.random.get_state()
    restores = []
    try:
        global_state = _keras_state()
        seed = global_state.get_global_attribute("global_random_seed")
        generator = global_state.get_global_attribute("global_seed_generator")
        generator_state = None if generator is None else generator.state.numpy().copy()

        def keras_back():
            global_state.set_global_attribute("global_random_seed", seed)
            global_state.set_global_attribute("global_seed_generator", generator)
            if generator is not None:
                generator.state.assign(generator_state)

        restores.append(keras_back)
    except Exception:  # noqa: BLE001 - private Keras state that moved: skip that part
        pass
    try:
        from tensorflow.python.eager import context
        from tensorflow.python.framework import config as tf_config

        ctx = context.context()
        tf_seed = ctx._seed
        tf_rng = getattr(ctx, "_rng", None)
        tf_rng_state = tf_rng.getstate() if tf_rng is not None else None
        determinism = tf_config.is_op_determinism_enabled()

        def tf_back():
            # Set directly: `_set_global_seed` would also clear TensorFlow's kernel cache.
            ctx._seed = tf_seed
            if tf_rng_state is not None:
                rng = random.Random()
                rng.setstate(tf_rng_state)
                ctx._rng = rng
            elif hasattr(ctx, "_rng"):
                del ctx._rng
            if tf_config.is_op_determinism_enabled() != determinism:
                (tf_config.enable_op_determinism if determinism else tf_config.disable_op_determinism)()

        restores.append(tf_back)
    except Exception:  # noqa: BLE001 - private TensorFlow state that moved: skip that part
        pass
    try:
        with preserved_names():
            yield
    finally:
        random.setstate(saved_python)
        np.random.set_state(saved_numpy)
        for back in restores:
            try:
                back()
            except Exception:  # noqa: BLE001 - restoring one part must not stop the others
                pass
