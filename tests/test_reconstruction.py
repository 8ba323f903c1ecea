"""`caedoctor.reconstruction`: what a model makes of its input, and the gradients a self-training model's own
step applies, read without changing anything."""

from __future__ import annotations

import numpy as np
import pytest

from tiny import blobs, compiled, tiny_cae
from tiny_vae import SIZE, tiny_vae


def test_which_models_train_themselves():
    import keras

    from caedoctor.reconstruction import trains_itself, where_it_trains

    assert not trains_itself(compiled(tiny_cae()))
    vae = tiny_vae()
    assert trains_itself(vae) and where_it_trains(vae) == "VAE.train_step"
    inputs = keras.Input((4,))
    plain = keras.Model(inputs, keras.layers.Dense(4)(inputs))
    plain.compile(optimizer="adam")  # no loss: its terms would come from add_loss
    assert trains_itself(plain)


def test_reconstruction_through_call_encoder_decoder_or_refused():
    import keras

    from caedoctor.errors import ModelError
    from caedoctor.reconstruction import reconstruct, way

    x = blobs(4, SIZE)
    vae = tiny_vae()
    out = np.asarray(reconstruct(vae, x))
    z_mean = vae.encoder(x)[0]
    np.testing.assert_allclose(out, np.asarray(vae.decoder(z_mean)), rtol=1e-6)  # the mean of the code
    assert "decoder(encoder(x))" in way(vae)
    cae = compiled(tiny_cae())
    np.testing.assert_allclose(np.asarray(reconstruct(cae, x)), np.asarray(cae(x)), rtol=1e-6)

    class Several(keras.Model):  # a call returning (code, reconstruction): the output shaped like the input
        def __init__(self):
            super().__init__()
            self.inner = tiny_cae()

        def call(self, x):
            return keras.ops.mean(x, axis=(1, 2)), self.inner(x)

    several = Several()
    assert reconstruct(several, x).shape == x.shape

    class Opaque(keras.Model):
        def train_step(self, data):
            return {}

    with pytest.raises(ModelError, match="no call\\(\\) and no encoder and decoder"):
        way(Opaque())


def test_own_step_gives_the_gradients_and_changes_nothing():
    import tensorflow as tf
    from keras import ops

    from caedoctor.reconstruction import own_step

    vae = tiny_vae()
    x = blobs(8, SIZE)
    vae.optimizer.build(vae.trainable_variables)
    tracked = [*vae.variables, *vae.optimizer.variables, *vae.metrics_variables]
    before = [v.numpy().copy() for v in tracked]
    logs, grads = own_step(vae, x, vae.trainable_variables)
    logs2, grads2 = own_step(vae, x, vae.trainable_variables)
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, tracked))  # weights, steps, metrics, seeds
    assert logs == logs2 and set(logs) == {"loss", "kl_loss"}
    assert "apply" not in vars(vae.optimizer) and "apply_gradients" not in vars(vae.optimizer)
    # The same gradients as the user's own loss gives, computed by hand with the same random draw.
    seed_state = vae.encoder.layers[-1].seed_generator.state.numpy().copy()
    with tf.GradientTape() as tape:
        z_mean, z_log_var, z = vae.encoder(x)
        rec = ops.mean(ops.sum(tf.keras.losses.binary_crossentropy(x, vae.decoder(z)), axis=(1, 2)))
        kl = ops.mean(ops.sum(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=1))
        total = rec + vae.beta * kl
    expected = tape.gradient(total, vae.trainable_variables)
    vae.encoder.layers[-1].seed_generator.state.assign(seed_state)
    for g, e, g2 in zip(grads, expected, grads2):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(np.asarray(g), np.asarray(g2))
