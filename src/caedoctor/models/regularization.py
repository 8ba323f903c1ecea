"""Read the regularization a Keras layer applies: weight penalties, activity penalties and dropout rates.

`regularization_of(layer)` returns plain data (a dict, empty for a layer that regularizes nothing):

- `kernel_l1`, `kernel_l2`, `bias_l1`, `bias_l2`: the strengths of `kernel_regularizer` and
  `bias_regularizer` (Keras' L1, L2 and L1L2), and `kernel_sq_sum` / `kernel_abs_sum`: the sum of the
  squared / absolute kernel weights as the layer holds them now (at initialisation for a fresh model), so
  that the penalty `l2 * kernel_sq_sum + l1 * kernel_abs_sum` can be compared with the loss;
- `activity_l1`, `activity_l2`: the strengths of an `activity_regularizer` (or of an ActivityRegularization
  layer), which Keras adds to the loss per sample (summed over the layer's output values, averaged over the
  batch);
- `dropout`: the rate of a Dropout, SpatialDropout1D/2D/3D, GaussianDropout or AlphaDropout layer;
- `custom`: the class name of a regularizer whose strength cannot be read (OrthogonalRegularizer, a user's).

The model reader (`analyze_model`) stores it on each `LayerInfo` as `regularization`; the rule CAE309 and
the `reduce_regularization` fix read it from there.
"""

from __future__ import annotations

DROPOUT_LAYERS = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
                  "AlphaDropout")


def regularizer_strengths(regularizer) -> dict:
    """{"l1": float, "l2": float} of a Keras L1/L2/L1L2 regularizer; {"custom": class name} otherwise."""
    name = type(regularizer).__name__
    if name not in ("L1", "L2", "L1L2"):
        return {"custom": name}
    config = regularizer.get_config()
    return {"l1": float(config.get("l1", 0.0) or 0.0), "l2": float(config.get("l2", 0.0) or 0.0)}


def _weight_sums(layer) -> dict:
    import numpy as np

    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        return {}
    try:
        w = np.asarray(kernel, dtype=np.float64)
    except Exception:  # noqa: BLE001 - an unbuilt or symbolic kernel: the strength alone is known
        return {}
    return {"kernel_sq_sum": float(np.sum(w * w)), "kernel_abs_sum": float(np.sum(np.abs(w)))}


def regularization_of(layer) -> dict:
    """The regularization `layer` applies, as described in the module doc ({} for none)."""
    out: dict = {}
    kind = type(layer).__name__
    if kind in DROPOUT_LAYERS:
        out["dropout"] = float(getattr(layer, "rate", 0.0) or 0.0)
    if kind == "ActivityRegularization":
        out["activity_l1"] = float(getattr(layer, "l1", 0.0) or 0.0)
        out["activity_l2"] = float(getattr(layer, "l2", 0.0) or 0.0)
    for attr, prefix in (("kernel_regularizer", "kernel"), ("bias_regularizer", "bias"),
                         ("activity_regularizer", "activity")):
        reg = getattr(layer, attr, None)
        if reg is None:
            continue
        strengths = regularizer_strengths(reg)
        if "custom" in strengths:
            out.setdefault("custom", []).append(f"{attr}={strengths['custom']}")
            continue
        for norm in ("l1", "l2"):
            if strengths[norm]:
                out[f"{prefix}_{norm}"] = strengths[norm]
        if prefix == "kernel" and (strengths["l1"] or strengths["l2"]):
            out.update(_weight_sums(layer))
    return {k: v for k, v in out.items() if v}
