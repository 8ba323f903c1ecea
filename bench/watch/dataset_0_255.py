"""A batched tf.data.Dataset of 0-255 images fed to the field notes' first CAE (bench for `caedoctor run`).

    nice -n 10 .venv/bin/caedoctor run [--diagnose always] bench/watch/dataset_0_255.py   # figures in bench/README.md

Example 1 of ../shared/field-notes.md is copied verbatim; the data is the bundled patches as uint8 0-255
(the user forgot to divide by 255), shuffled and batched by tf.data.
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

# ---- added: 0-255 images through tf.data (everything above is the field notes' example 1, verbatim)
import numpy as np
from caedoctor.data.bundled import patches32

images = np.round(patches32()[0] * 255).astype(np.uint8)
dataset = tf.data.Dataset.from_tensor_slices((images, images)).shuffle(4096, seed=0).batch(32)
bad_cae.fit(dataset, epochs=1)
