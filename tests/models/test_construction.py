"""Fresh copies of a subclassed model without `get_config`: built again from the constructor call the user's
code made (`caedoctor.models.construction`), nested encoder and decoder included."""

from __future__ import annotations

import numpy as np
import pytest

from tiny import blobs
from tiny_vae import SIZE, tiny_vae


@pytest.fixture
def recording():
    from caedoctor.models import construction

    original = __import__("keras").Model.__dict__["__new__"]
    construction.start()
    yield
    construction.stop()
    assert __import__("keras").Model.__dict__["__new__"] is original  # put back exactly


def test_unrecorded_subclass_is_refused_with_the_reason():
    from caedoctor.errors import ModelError
    from caedoctor.models import fresh_copy

    vae = tiny_vae()
    with pytest.raises(ModelError, match="no get_config\\(\\) that rebuilds it and caedoctor did not see it built"):
        fresh_copy(vae)


def test_recorded_subclass_is_built_again_with_fresh_nested_models(recording):
    import keras

    from caedoctor.models import fresh_copy
    from caedoctor.reconstruction import reconstruct

    vae = tiny_vae(beta=4.0)
    keras.utils.set_random_seed(1)
    copy = fresh_copy(vae)
    assert type(copy) is type(vae) and copy.beta == 4.0
    assert copy.encoder is not vae.encoder and copy.decoder is not vae.decoder
    assert [w.shape for w in copy.weights] == [w.shape for w in vae.weights]
    assert not all(np.array_equal(a, b) for a, b in zip(copy.get_weights(), vae.get_weights()))  # fresh weights
    x = blobs(4, SIZE)
    copy.set_weights(vae.get_weights())
    np.testing.assert_allclose(np.asarray(reconstruct(copy, x)), np.asarray(reconstruct(vae, x)), rtol=1e-6)
    again = fresh_copy(copy)  # a copy of a copy (every probe copies the diagnosis' copy)
    assert type(again) is type(vae) and again.beta == 4.0


def test_a_copy_of_a_model_built_before_recording_says_when_to_start(recording):
    from caedoctor.errors import ModelError
    from caedoctor.models import construction, fresh_copy

    construction.stop()
    vae = tiny_vae()
    construction.start()
    with pytest.raises(ModelError, match="built before caedoctor started watching"):
        fresh_copy(vae)
