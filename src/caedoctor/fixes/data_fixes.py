"""Data fixes: drop non-finite samples, scale inputs and targets (`normalize_inputs`, `normalize_targets`),
train on the inputs as targets (`inputs_as_targets`), smooth the targets (`smooth_targets`), move them back
onto their inputs (`align_targets`), and the more-data test (`fewer_training_samples`).

Data fixes map the `tf.data` pipelines and record each step in `Data.preprocessing`, with the linear map from
the raw values in `Data.scales`, so the same preprocessing can be saved with a repaired model; every data
fix keeps the steps and scales of the fixes before it."""

from __future__ import annotations

import dataclasses

from caedoctor.data import Data
from caedoctor.data.profile import DataProfile, profile_batches
from caedoctor.fixes.kind import FixKind, NotApplicable


def transform_data(data: Data, fn_x=None, fn_y=None, step: str = "", counts: tuple | None = None,
                   fn_pairs=None) -> Data:
    """A new `Data` whose pipelines apply `fn_x` to inputs and `fn_y` to targets, re-profiled; every other
    field (earlier preprocessing steps, scales) is kept. `counts` = (train, validation) when they changed.
    `fn_pairs(x, y) -> new y` (numpy, on batches of pairs) rewrites the targets from both (`align_targets`)."""
    def mapper(x, y):
        return (fn_x(x) if fn_x else x), (fn_y(y) if fn_y else y)

    train = data.train.map(mapper) if (fn_x or fn_y) else data.train
    val = data.val.map(mapper) if (fn_x or fn_y) else data.val
    if fn_pairs is not None:
        train, val = _map_pairs(train, fn_pairs), _map_pairs(val, fn_pairs)
    separate = data.profile.target is not None
    batches = (b for ds in (train, val) for b in ds.batch(1024).as_numpy_iterator())
    inputs, target = profile_batches(batches, "float32", "float32" if separate else None, separate)
    train_count, val_count = counts or (data.profile.train_count, data.profile.val_count)
    profile = DataProfile(name=data.profile.name, inputs=inputs, target=target,
                          train_count=train_count, val_count=val_count,
                          notes=list(data.profile.notes) + ([step] if step else []))
    return dataclasses.replace(data, train=train, val=val, profile=profile,
                               preprocessing=list(data.preprocessing) + ([step] if step else []))


def _map_pairs(ds, fn):
    """`ds` of (x, y) samples with each target replaced by `fn(x, y)` (numpy, run on batches of 256 pairs in
    order, so a pipeline's fresh random draws each epoch are rewritten as they come)."""
    import numpy as np
    import tensorflow as tf

    def rewrite(x, y):
        y_new = tf.numpy_function(lambda a, b: np.asarray(fn(a, b), b.dtype), [x, y], y.dtype)
        return x, tf.ensure_shape(y_new, y.shape)

    cardinality = ds.cardinality()
    out = ds.batch(256).map(rewrite).unbatch()
    return out.apply(tf.data.experimental.assert_cardinality(cardinality)) if cardinality >= 0 else out


def _scaler(stats, method: str):
    """(scale, offset) so that x * scale + offset is normalised by `method`, from streamed statistics."""
    if method == "unit":
        return 1.0 / 255.0, 0.0
    if method == "minmax":
        span = stats.max - stats.min
        if not span > 0:
            raise NotApplicable("the data is constant; it cannot be scaled to [0, 1]")
        return 1.0 / span, -stats.min / span
    if method == "standard":
        if not stats.std > 0:
            raise NotApplicable("the data is constant; it cannot be standardised")
        return 1.0 / stats.std, -stats.mean / stats.std
    raise NotApplicable(f"unknown normalisation method {method!r}")


def _onto(stats, reference):
    """(scale, offset) mapping the range of `stats` onto the range of `reference` (targets onto inputs)."""
    span, ref_span = stats.max - stats.min, reference.max - reference.min
    if not (span > 0 and ref_span > 0):
        raise NotApplicable("constant data cannot be rescaled onto another range")
    scale = ref_span / span
    return scale, reference.min - stats.min * scale


def normalize(data: Data, inputs_method: str | None, targets_method: str | None) -> Data:
    """Rescale inputs and/or targets linearly; `Data.scales` keeps the map from raw values for saving."""
    x_map = _scaler(data.profile.inputs, inputs_method) if inputs_method else None
    if targets_method == "like_inputs":
        y_map = x_map or _onto(data.profile.target_stats, data.profile.inputs)
    elif targets_method:
        y_map = _scaler(data.profile.target_stats, targets_method)
    else:
        y_map = x_map if data.profile.target is None else None  # the target is the input: scale it alike
    steps = []
    if x_map:
        steps.append(f"inputs: x * {x_map[0]:.6g} + {x_map[1]:.6g} ({inputs_method})")
    if y_map and (targets_method or data.profile.target is not None):
        steps.append(f"targets: y * {y_map[0]:.6g} + {y_map[1]:.6g} ({targets_method or inputs_method})")

    def linear(m):
        return None if m is None else (lambda t, s=m[0], o=m[1]: t * s + o)

    new = transform_data(data, linear(x_map), linear(y_map), "; ".join(steps))
    (sx, ox), (sy, oy) = data.scales
    if x_map:
        sx, ox = sx * x_map[0], ox * x_map[0] + x_map[1]
    if y_map:
        sy, oy = sy * y_map[0], oy * y_map[0] + y_map[1]
    new.scales = ((sx, ox), (sy, oy))
    return new


def fewer_training_samples(data: Data, fraction: float = 0.5) -> Data:
    """The same data with only the first `fraction` of the training samples (validation unchanged).

    This is how a probe tests "more data would help" without more data: if training on a fraction of the images
    makes the validation error clearly worse, the model is still limited by the amount of data (a point
    on its learning curve); if it makes no difference, more images of the same kind will not help either.
    """
    keep = max(1, int(data.train_count * fraction))
    if keep >= data.train_count:
        raise NotApplicable(f"only {data.train_count} training samples; cannot train on fewer")
    profile = dataclasses.replace(data.profile, train_count=keep)
    step = f"training on the first {keep} of {data.train_count} samples"
    return dataclasses.replace(data, train=data.train.take(keep), profile=profile,
                               preprocessing=list(data.preprocessing) + [step])


def drop_nonfinite(data: Data) -> Data:
    """The same data without the samples whose input or target holds NaN or Inf.

    Earlier preprocessing and `scales` are kept: a normalisation applied before this step must still be saved
    with the repaired model (it once was reset here, and the saved model then expected normalised inputs).
    """
    import tensorflow as tf

    def finite(x, y):
        return tf.logical_and(tf.reduce_all(tf.math.is_finite(x)), tf.reduce_all(tf.math.is_finite(y)))

    def kept(ds):
        # Counted once, so the pipelines keep a known length (Keras warns "ran out of data" on every pass over
        # a dataset of unknown length) and the profile's sample counts stay true.
        ds = ds.filter(finite)
        n = int(ds.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1))
        return ds.apply(tf.data.experimental.assert_cardinality(n)), n

    (train, n_train), (val, n_val) = kept(data.train), kept(data.val)
    if n_train == 0:
        raise NotApplicable("every training sample holds NaN or Inf; there is nothing left to train on")
    step = (f"dropped {data.train_count - n_train} training and {data.val_count - n_val} validation samples "
            "holding NaN or Inf")
    return transform_data(dataclasses.replace(data, train=train, val=val), step=step, counts=(n_train, n_val))


def inputs_as_targets(data: Data) -> Data:
    """The same data with every target replaced by its own input: the plain autoencoder's task.

    This tests targets that do not belong to their inputs (shuffled apart, misaligned): if the model learns
    once each target is its input, the pairing was what it could not learn. It is a test, and a repair only
    where the plain autoencoder is what the user meant; the proper fix is to pair the targets again.
    """
    if data.profile.target is None:
        raise NotApplicable("the targets already are the inputs")
    if tuple(data.profile.target.shape) != tuple(data.profile.inputs.shape):
        raise NotApplicable(f"the targets' shape {tuple(data.profile.target.shape)} is not the inputs' "
                            f"{tuple(data.profile.inputs.shape)}: the model could not train on its inputs as targets")
    import tensorflow as tf

    def own_input(x, y):
        return x, tf.identity(x)

    step = "targets replaced by their inputs"
    plain = dataclasses.replace(data, train=data.train.map(own_input), val=data.val.map(own_input),
                                profile=dataclasses.replace(data.profile, target=None))
    new = transform_data(plain, step=step)
    new.scales = (data.scales[0], data.scales[0])
    return new


def smooth_targets(data: Data) -> Data:
    """The same data with every target blurred (`pairing.smooth`: a 5x5 binomial kernel).

    This tests targets that carry their input's pixel noise (CAE107): white noise drops to about a quarter of
    its std while shapes stay, so if the model then learns far better, the noise floor was what held it. The
    proper fix is the clean image as the target.
    """
    from caedoctor.data.pairing import smooth

    if data.profile.target is None:
        raise NotApplicable("the targets are the inputs: a plain autoencoder has no separate targets to smooth")
    return transform_data(data, step="targets smoothed (5x5 binomial blur)", fn_pairs=lambda x, y: smooth(y))


def align_targets(data: Data) -> Data:
    """The same data with every misaligned target moved back onto its input (`pairing.align`: the flip or
    90-degree turn and the shift that match it best, where they raise its correlation by
    `PairingCounter.MIN_ALIGN_GAIN`).

    This tests augmentation applied to inputs and not their targets (CAE108): if the model learns far better
    once each target sits where its input does, the unseen move was what held it. The proper fix is one
    augmentation drawn for the pair.
    """
    from caedoctor.data.pairing import align
    from caedoctor.data.profile import PairingCounter

    if data.profile.target is None:
        raise NotApplicable("the targets are the inputs: there is nothing to align")
    if tuple(data.profile.target.shape)[:2] != tuple(data.profile.inputs.shape)[:2]:
        raise NotApplicable("the targets' height and width are not the inputs': they cannot be aligned")
    gain = PairingCounter.MIN_ALIGN_GAIN
    return transform_data(data, step="targets moved back onto their inputs (flip, turn, shift)",
                          fn_pairs=lambda x, y: align(x, y, gain))


def _smooth_targets(setup, fix, context):
    return setup.replace(data=smooth_targets(setup.data))


def _align_targets(setup, fix, context):
    return setup.replace(data=align_targets(setup.data))


def _inputs_as_targets(setup, fix, context):
    return setup.replace(data=inputs_as_targets(setup.data))


def _normalize_inputs(setup, fix, context):
    return setup.replace(data=normalize(setup.data, fix.params.get("method", "unit"), None))


def _normalize_targets(setup, fix, context):
    return setup.replace(data=normalize(setup.data, None, fix.params.get("method", "like_inputs")))


def _data(setup, fix, context):
    action = fix.params.get("action")
    if action == "drop_nonfinite":
        return setup.replace(data=drop_nonfinite(setup.data))
    raise NotApplicable(f"'{action}' is a change to the data that only you can make (caedoctor tests it "
                        "without making it)")


NORMALIZE_INPUTS = FixKind("normalize_inputs", "method (unit: /255 | minmax: to [0,1] | standard: zero mean, unit "
                           "std); the targets follow when they are the inputs", stage=11, apply=_normalize_inputs)
NORMALIZE_TARGETS = FixKind("normalize_targets", "method (like_inputs | unit | minmax)", stage=12,
                            apply=_normalize_targets)
INPUTS_AS_TARGETS = FixKind("inputs_as_targets", "(none): every target replaced by its own input", stage=13,
                             apply=_inputs_as_targets)
SMOOTH_TARGETS = FixKind("smooth_targets", "(none): every target blurred by a 5x5 binomial kernel", stage=14,
                          apply=_smooth_targets)
ALIGN_TARGETS = FixKind("align_targets", "(none): every target moved back onto its input (flip, turn, shift)",
                        stage=15, apply=_align_targets)
DATA = FixKind("data", "action (drop_nonfinite | deduplicate | more_data), a change to the data; only "
               "drop_nonfinite is applied automatically (more_data is tested on the learning curve)", stage=10,
               apply=_data)


def is_more_data(fix) -> bool:
    """A "more data would help" fix: tested in reverse (fewer images), never applied."""
    return fix.kind == "data" and fix.params.get("action") == "more_data"
