"""The repair's changes as Keras code a user can paste into their own script."""

from __future__ import annotations


def _layer_line(layer) -> str:
    config = layer.get_config()
    keep = {k: v for k, v in config.items()
            if k in ("filters", "kernel_size", "strides", "padding", "activation", "negative_slope", "units")}
    args = ", ".join(f"{k}={v!r}" for k, v in keep.items())
    return f"keras.layers.{type(layer).__name__}({args})"


def changes_as_code(result) -> str:
    """Python source: one commented block per kept change, then the compile call of the repaired model."""
    lines = ["# caedoctor repair: the changes that measurably helped, as Keras code.", "import keras", ""]
    loaded = result.loaded
    for change in result.kept_changes():
        effect = change.effect or {}
        lines.append(f"# {change.what}: {change.why}")
        if effect:
            lines.append(f"#   measured: {effect.get('metric')} {effect.get('before')} -> {effect.get('after')}")
        p = change.params
        if change.what == "output_activation":
            lines.append(f"# last layer: activation={p.get('activation', 'sigmoid')!r}, e.g.")
            if loaded is not None:
                lines.append(f"# {_layer_line(loaded.model.layers[-1])}")
        elif change.what == "hidden_activation":
            lines.append("# after each hidden conv layer, instead of activation='relu':")
            lines.append("x = keras.layers.LeakyReLU(negative_slope=0.1)(x)")
        elif change.what == "add_batchnorm":
            lines.append("# after each hidden conv layer:")
            lines.append("x = keras.layers.BatchNormalization()(x)")
        elif change.what in ("normalize_inputs", "normalize_targets"):
            (sx, ox), (sy, oy) = getattr(result.data, "scales", ((1.0, 0.0), (1.0, 0.0)))
            lines.append(f"x_train = x_train * {sx:.8g} + {ox:.8g}")
            lines.append(f"y_train = y_train * {sy:.8g} + {oy:.8g}  # the target, if separate")
        elif change.what == "crop_or_pad_output":
            lines.append(f"# crop or pad the decoder output to {p.get('target_shape')}:")
            lines.append("x = keras.layers.Cropping2D(...)(x)  # see repaired.keras for the exact amounts")
        elif change.what in ("kernel_size", "transpose_kernel"):
            lines.append(f"# conv kernel: {p}")
        elif change.what in ("bottleneck", "capacity"):
            lines.append(f"# filters: {p}")
        lines.append("")
    if loaded is not None:
        c = loaded.config
        args = ", ".join(f"{k}={v!r}" for k, v in c.optimizer.arguments().items()
                         if not isinstance(v, dict))
        schedule = c.optimizer.schedule
        if schedule is not None:
            lines.append(f"# learning-rate schedule: {type(schedule).__name__} scaled so that its first rate is "
                         f"{c.learning_rate:.6g} (see repair.json for its arguments)")
        loss = c.loss.describe() if not c.loss.is_builtin else (
            repr(c.loss.value) if isinstance(c.loss.value, str) else f"keras.losses.{c.loss.describe()}")
        lines.append(f"model.compile(optimizer=keras.optimizers.{c.optimizer.class_name}({args}), loss={loss})")
        lines.append(f"model.fit(x_train, y_train, batch_size={c.batch_size}, ...)")
    return "\n".join(lines) + "\n"
