"""The three CAEs of our field notes, exactly as written there, built for any input shape.

encoder: Conv2D(32, 3x3, same) -> MaxPool(2) -> Conv2D(64) -> MaxPool(2)
decoder: Conv2DTranspose(64) -> UpSampling(2) -> Conv2DTranspose(32) -> UpSampling(2) -> Conv2DTranspose(C)

- `seed_bad`: ReLU everywhere, linear output, Adam (default rate), MSE.
- `seed_better`: LeakyReLU(0.1), sigmoid output, Adam (default rate), MSE.
- `seed_hyper_bad`: `seed_better` with Adam(learning_rate=0.1).
"""

from __future__ import annotations

import keras
from keras import layers

from caedoctor.config import TrainConfig

PRESETS = ("seed_bad", "seed_better", "seed_hyper_bad")


def _conv(transpose: bool, filters: int, x, leaky: bool, activation: str, name: str):
    cls = layers.Conv2DTranspose if transpose else layers.Conv2D
    if leaky:
        x = cls(filters, (3, 3), padding="same", name=name)(x)
        return layers.LeakyReLU(negative_slope=0.1, name=f"{name}_leaky")(x)
    return cls(filters, (3, 3), padding="same", activation=activation, name=name)(x)


def build_seed_cae(input_shape, leaky: bool, output_activation: str, name: str) -> keras.Model:
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = _conv(False, 32, inputs, leaky, "relu", "enc_conv1")
    x = layers.MaxPool2D((2, 2), padding="same", name="enc_pool1")(x)
    x = _conv(False, 64, x, leaky, "relu", "enc_conv2")
    encoded = layers.MaxPool2D((2, 2), padding="same", name="enc_pool2")(x)
    x = _conv(True, 64, encoded, leaky, "relu", "dec_convt1")
    x = layers.UpSampling2D((2, 2), name="dec_up1")(x)
    x = _conv(True, 32, x, leaky, "relu", "dec_convt2")
    x = layers.UpSampling2D((2, 2), name="dec_up2")(x)
    decoded = layers.Conv2DTranspose(input_shape[-1], (3, 3), padding="same", activation=output_activation,
                                      name="dec_output")(x)
    return keras.Model(inputs, decoded, name=name)


def build_preset(name: str, input_shape) -> tuple[keras.Model, TrainConfig]:
    # compile(optimizer="adam", loss="mse") in the notes: Keras' Adam with its defaults, the string "mse".
    if name == "seed_bad":
        model = build_seed_cae(input_shape, leaky=False, output_activation="linear", name=name)
        return model, TrainConfig.create("adam", None, "mse", 32, origin="preset")
    if name == "seed_better":
        model = build_seed_cae(input_shape, leaky=True, output_activation="sigmoid", name=name)
        return model, TrainConfig.create("adam", None, "mse", 32, origin="preset")
    if name == "seed_hyper_bad":
        model = build_seed_cae(input_shape, leaky=True, output_activation="sigmoid", name=name)
        return model, TrainConfig.create("adam", 0.1, "mse", 32, origin="preset")
    raise KeyError(name)
