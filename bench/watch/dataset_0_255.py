"""A batched tf.data.Dataset of 0-255 images fed to one of the field notes' CAEs (bench for `caedoctor run`).

    nice -n 10 .venv/bin/caedoctor run bench/watch/dataset_0_255.py [better|bad]   # figures in bench/README.md

Examples 1 and 2 of ../shared/field-notes.md are copied verbatim; the data is the bundled patches as uint8
0-255 (the user forgot to divide by 255), shuffled and batched by tf.data. The argument picks the model:
`better` (default; sigmoid output) or `bad` (linear output).
"""
import tensorflow as tf

def create_bad_cae(input_shape):
  encoder_input = tf.keras.layers.Input(shape=input_shape)
  # Encoder using RELU everywhere
  x = tf.keras.layers.Conv2D(32, (3,3), padding="same", activation="relu")(encoder_input)
  x = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)
  x = tf.keras.layers.Conv2D(64, (3,3), padding="same", activation="relu")(x)
  encoded = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)

  # Decoder with linear output
  x = tf.keras.layers.Conv2DTranspose(64, (3,3), padding="same", activation="relu")(encoded)
  x = tf.keras.layers.UpSampling2D((2,2))(x)
  x = tf.keras.layers.Conv2DTranspose(32, (3,3), padding="same", activation="relu")(x)
  x = tf.keras.layers.UpSampling2D((2,2))(x)
  decoded = tf.keras.layers.Conv2DTranspose(input_shape[-1], (3,3), padding="same", activation="linear")(x)

  return tf.keras.Model(encoder_input, decoded)

input_shape = (32, 32, 3)
bad_cae = create_bad_cae(input_shape)
bad_cae.compile(optimizer="adam", loss="mse")

def create_better_cae(input_shape):
    encoder_input = tf.keras.layers.Input(shape=input_shape)
    # Encoder with LeakyReLU
    x = tf.keras.layers.Conv2D(32, (3,3), padding="same")(encoder_input)
    x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
    x = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)
    x = tf.keras.layers.Conv2D(64, (3,3), padding="same")(x)
    x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
    encoded = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)

    # Decoder with Sigmoid output
    x = tf.keras.layers.Conv2DTranspose(64, (3,3), padding="same")(encoded)
    x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
    x = tf.keras.layers.UpSampling2D((2,2))(x)
    x = tf.keras.layers.Conv2DTranspose(32, (3,3), padding="same")(x)
    x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
    x = tf.keras.layers.UpSampling2D((2,2))(x)
    decoded = tf.keras.layers.Conv2DTranspose(input_shape[-1], (3,3), padding="same", activation="sigmoid")(x)

    return tf.keras.Model(encoder_input, decoded)

input_shape = (32, 32, 3)
better_cae = create_better_cae(input_shape)
better_cae.compile(optimizer="adam", loss="mse")

# ---- added: 0-255 images through tf.data (everything above is the field notes' examples 1 and 2, verbatim)
import sys

import numpy as np
from caedoctor.data.bundled import patches32

images = np.round(patches32()[0] * 255).astype(np.uint8)
dataset = tf.data.Dataset.from_tensor_slices((images, images)).shuffle(4096, seed=0).batch(32)
model = {"better": better_cae, "bad": bad_cae}[sys.argv[1] if len(sys.argv) > 1 else "better"]
model.fit(dataset, epochs=1)
