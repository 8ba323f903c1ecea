"""A denoising CAE on 4,000 Fashion-MNIST images from ../shared/data, trained through a tf.data pipeline as a
user writes it, under `caedoctor.autolog(diagnose="always")`; prints the pairing findings and the verdict.

`python bench/pairing/denoising_example.py CASE [EPOCHS]`, CASE one of:
  ok          (noisy input, clean target): the set-up as meant
  noise       the noise added before the pairing, the target clipped: (noisy, clip(noisy))
  flip        tf.image.random_flip_left_right on the input only
  flip-twice  the flip on both, with separate random draws
"""
import gzip
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

import caedoctor

CASE = sys.argv[1]
EPOCHS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
with gzip.open(SHARED / "fashion-mnist" / "train-images-idx3-ubyte.gz") as f:
    clean = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)[:4000].astype("float32") / 255.0


def add_noise(im):
    return im + 0.2 * tf.random.normal(tf.shape(im))


ds = tf.data.Dataset.from_tensor_slices(clean)
if CASE == "ok":
    ds = ds.map(lambda im: (add_noise(im), im))
elif CASE == "noise":
    ds = ds.map(add_noise).map(lambda im: (im, tf.clip_by_value(im, 0.0, 1.0)))
elif CASE == "flip":
    ds = ds.map(lambda im: (tf.image.random_flip_left_right(im), im))
elif CASE == "flip-twice":
    ds = ds.map(lambda im: (tf.image.random_flip_left_right(im), tf.image.random_flip_left_right(im)))
else:
    raise SystemExit(__doc__)
ds = ds.batch(64)

inputs = keras.Input((28, 28, 1))
x = layers.Conv2D(32, 3, activation="relu", padding="same")(inputs)
x = layers.MaxPooling2D(2)(x)
x = layers.Conv2D(32, 3, activation="relu", padding="same")(x)
x = layers.MaxPooling2D(2)(x)
x = layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same")(x)
x = layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same")(x)
outputs = layers.Conv2D(1, 3, activation="sigmoid", padding="same")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="binary_crossentropy")

caedoctor.autolog(diagnose="always", budget_seconds=400)
model.fit(ds, epochs=EPOCHS, verbose=2)
caedoctor.autolog(disable=True)
d = caedoctor.last_diagnosis()
print("verdict", d.verdict, [(f.code, f.cause, f.status, f.effect.to_dict() if f.effect else None)
                             for f in d.findings])
