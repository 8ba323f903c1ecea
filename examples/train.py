"""A training script as you would write it, unchanged for caedoctor: the field notes' third CAE (example 3 of
../shared/field-notes.md, copied verbatim: Adam at learning rate 0.1), trained with a plain `fit`.

    python examples/train.py --epochs 2                  # trains, as any script does
    caedoctor run examples/train.py --epochs 2           # the same, and a diagnosis when the fit goes wrong

The images are caedoctor's bundled patches (cut from the photographs inside scikit-image: no download).
"""
import argparse

import tensorflow as tf

from caedoctor.data.bundled import patches32

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--samples", type=int, default=3200)
args = parser.parse_args()
tf.keras.utils.set_random_seed(0)

def create_hyper_bad_cae(input_shape):
  encoder_input = tf.keras.layers.Input(shape=input_shape)
  x = tf.keras.layers.Conv2D(32, (3,3), padding="same")(encoder_input)
  x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
  x = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)
  x = tf.keras.layers.Conv2D(64, (3,3), padding="same")(x)
  x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
  encoded = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)

  x = tf.keras.layers.Conv2DTranspose(64, (3,3), padding="same")(encoded)
  x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
  x = tf.keras.layers.UpSampling2D((2,2))(x)
  x = tf.keras.layers.Conv2DTranspose(32, (3,3), padding="same")(x)
  x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
  x = tf.keras.layers.UpSampling2D((2,2))(x)
  decoded = tf.keras.layers.Conv2DTranspose(input_shape[-1], (3,3), padding="same", activation="sigmoid")(x)

  return tf.keras.Model(encoder_input, decoded)

input_shape = (32, 32, 3)
hyper_bad_cae = create_hyper_bad_cae(input_shape)
# very high learning rate will likely cause instability
optimizer = tf.keras.optimizers.Adam(learning_rate=0.1)
hyper_bad_cae.compile(optimizer=optimizer, loss="mse")

x = patches32()[0][:args.samples]  # float32 in [0, 1], 32x32x3
hyper_bad_cae.fit(x, x, epochs=args.epochs, batch_size=32, validation_split=0.1, verbose=2)
