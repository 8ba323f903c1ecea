"""The Keras example VAE (keras.io/examples/generative/vae) as a user has it, on 6,000 Fashion-MNIST images
from ../shared/data: `python bench/vae/keras_example_vae.py BETA EPOCHS [sum|mean] [--optimizer adam|rmsprop|sgd]
[--lr RATE] [--warm-up]`.

`mean` averages the reconstruction over pixels beside the summed KL (keras-team/keras PR 3383). `--warm-up` adds
the usual KL warm-up callback, which assigns `vae.beta = BETA * min(1, epoch / 4)` as a Python number each epoch
(keras-team/keras issue 13826: the traced train step never sees it). `--optimizer rmsprop --lr 0.05` drives the
log-variance to exp() overflow. Run it under `caedoctor run --diagnose always` or through
`bench/vae/diagnose_example.py` (autolog, then the symptoms).
"""
import argparse, gzip
from pathlib import Path
import numpy as np
import keras
from keras import layers, ops
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("beta", type=float, nargs="?", default=1.0)
parser.add_argument("epochs", type=int, nargs="?", default=2)
parser.add_argument("recon", choices=("sum", "mean"), nargs="?", default="sum")  # mean: keras-team/keras PR 3383
parser.add_argument("--optimizer", choices=("adam", "rmsprop", "sgd"), default="adam")
parser.add_argument("--lr", type=float, default=None)
parser.add_argument("--warm-up", action="store_true")
args = parser.parse_args()
BETA, EPOCHS, RECON = args.beta, args.epochs, args.recon

class Sampling(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

latent_dim = 2
encoder_inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Flatten()(x)
x = layers.Dense(16, activation="relu")(x)
z_mean = layers.Dense(latent_dim, name="z_mean")(x)
z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
z = Sampling()([z_mean, z_log_var])
encoder = keras.Model(encoder_inputs, [z_mean, z_log_var, z], name="encoder")

latent_inputs = keras.Input(shape=(latent_dim,))
x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
x = layers.Reshape((7, 7, 64))(x)
x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")

class VAE(keras.Model):
    def __init__(self, encoder, decoder, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = beta
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            if RECON == "mean":
                reconstruction_loss = ops.mean(keras.losses.binary_crossentropy(data, reconstruction))
            else:
                reconstruction_loss = ops.mean(ops.sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)))
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + self.beta * kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {"loss": self.total_loss_tracker.result(),
                "reconstruction_loss": self.reconstruction_loss_tracker.result(),
                "kl_loss": self.kl_loss_tracker.result()}

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
with gzip.open(SHARED / "fashion-mnist" / "train-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)[:6000]
data = images.astype("float32") / 255.0
class WarmUp(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.model.beta = BETA * min(1.0, epoch / 4)


optimizer = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}[
    args.optimizer]
vae = VAE(encoder, decoder, beta=0.0 if args.warm_up else BETA)
vae.compile(optimizer=optimizer() if args.lr is None else optimizer(learning_rate=args.lr))
vae.fit(data, epochs=EPOCHS, batch_size=128, verbose=2, callbacks=[WarmUp()] if args.warm_up else [])
