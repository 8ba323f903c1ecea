"""Models that train themselves (the Keras example VAE: its own train_step, no call, no compiled loss) are
watched every step, probed through their own step without changing their training, copied from their own
construction, and diagnosed."""

from __future__ import annotations

import numpy as np
import pytest

import caedoctor
from tiny import blobs
from tiny_vae import SIZE, tiny_vae


@pytest.fixture(autouse=True)
def _no_watcher_left():
    yield
    caedoctor.autolog(disable=True)


def _weights_after_fit(monitored: bool):
    import keras
    import tensorflow as tf

    from caedoctor.watch.monitor import FitMonitor

    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(0)
    vae = tiny_vae()
    x = blobs(64, SIZE)
    monitor = FitMonitor((x[:16], x[:16]), interval=1, feed="x") if monitored else None
    history = vae.fit(x, batch_size=16, epochs=2, verbose=0, shuffle=False, callbacks=[monitor] if monitor else [])
    return vae.get_weights(), history.history, monitor


def test_probing_the_own_step_does_not_change_the_training():
    """Every step probed through the VAE's own train_step (gradients caught, nothing applied): the trained
    weights and the logged losses are those of the fit without the monitor, bit for bit."""
    plain, plain_history, _ = _weights_after_fit(False)
    watched, watched_history, monitor = _weights_after_fit(True)
    assert monitor.failure is None
    assert plain_history == watched_history
    assert all(np.array_equal(a, b) for a, b in zip(plain, watched))
    record = monitor.record
    assert record.steps == 8 and len(record.probe_steps) == 8 and record.own_loss
    assert set(record.grad_norms) and all(np.isfinite(v).all() for v in record.grad_norms.values())
    # the reconstruction's MSE and the mean image's, in one unit; the training loss (summed BCE + KL) is not in it
    assert all(0 < v < 1 for v in record.probe_loss) and 0 < record.baseline_loss < 1 < record.losses[-1]
    assert np.isnan(record.relative_losses()).all()


def test_example_vae_is_watched_every_step_and_diagnosed():
    caedoctor.autolog(diagnose="always", quick=True, steps=50)
    vae = tiny_vae()  # built after autolog: its construction is recorded, so the diagnosis can copy it
    vae.fit(blobs(128, SIZE), batch_size=16, epochs=2, verbose=0)
    caedoctor.autolog(disable=True)
    diagnosis = caedoctor.last_diagnosis()
    assert diagnosis is not None
    watcher_fit = diagnosis.setup["training"]["loss"]
    assert watcher_fit["name"] == "own" and "VAE.train_step" in watcher_fit["description"]
    assert diagnosis.probe["steps_run"] == 50 and np.isfinite(diagnosis.probe["relative_loss"])
    assert diagnosis.verdict in ("converging", "slow", "not_converging")


def test_a_kl_warm_up_the_traced_step_never_sees_is_a_problem_and_a_confirmed_finding():
    """A callback assigning `model.beta` each epoch: the watched fit measures that the traced step keeps the
    first value, which alone makes the fit a problem to diagnose, with CAE716 confirmed in its diagnosis."""
    import keras

    class WarmUp(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.beta = min(1.0, epoch / 2)

    caedoctor.autolog(quick=True, steps=30)  # diagnose="on-problem", the default
    vae = tiny_vae(beta=0.0)
    vae.fit(blobs(64, SIZE), batch_size=16, epochs=3, verbose=0, callbacks=[WarmUp()])
    from caedoctor.watch import watched_fits

    fits = watched_fits()
    caedoctor.autolog(disable=True)
    diagnosis = caedoctor.last_diagnosis()
    assert diagnosis is not None
    found = {f.code: f for f in diagnosis.findings}
    frozen = found["CAE716"]
    assert frozen.status == "confirmed" and frozen.cause == "kl_weight_frozen"
    assert frozen.effect.before == pytest.approx(frozen.effect.after, rel=1e-6)
    assert frozen.fix.kind == "kl_weight_variable" and "your fit" in frozen.evidence["measured_in"]
    assert [s["present"] for s in diagnosis.symptoms if s["name"] == "kl_weight_frozen"] == [True]
    # the copy diagnosed is the model as the fit began (beta 0), not as the warm-up left it (beta 1)
    from caedoctor.watch.recorded import _rebuilt_model

    assert vae.beta == 1.0 and fits[-1].recorded.numbers == {"beta": 0.0}
    assert _rebuilt_model(fits[-1].recorded).beta == 0.0
    assert fits[-1].recorded.callbacks == ["WarmUp"]  # named in a note: the probes do not run it


def test_a_kl_warm_up_the_step_sees_is_diagnosed_at_the_weight_the_fit_ends_with():
    """A warm-up assigning a `keras.Variable` works: the fit ends at beta 1, so its copy is diagnosed at 1, not at
    the 0 it began with (a VAE with no KL term: the families benchmark's dev-002 was missed that way)."""
    import keras

    from caedoctor.diagnosis.watched import kl_weight_frozen
    from caedoctor.watch import watched_fits
    from caedoctor.watch.recorded import diagnosis_inputs
    from tiny_vae import coders, vae_classes

    _, VAE = vae_classes()

    class VariableBeta(VAE):
        def __init__(self, encoder, decoder, beta=1.0, **kwargs):
            super().__init__(encoder, decoder, beta=beta, **kwargs)
            self.beta = keras.Variable(beta, trainable=False, name="beta")

    class WarmUp(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.beta.assign(min(1.0, epoch / 2))

    caedoctor.autolog(diagnose="never", steps=30)
    try:
        vae = VariableBeta(*coders(), beta=0.0)
        vae.compile(optimizer=keras.optimizers.Adam(3e-3))
        vae.fit(blobs(64, SIZE), batch_size=16, epochs=3, verbose=0, callbacks=[WarmUp()])
        watched = watched_fits()[-1]
    finally:
        caedoctor.autolog(disable=True)
    assert float(vae.beta.numpy()) == 1.0 and not kl_weight_frozen(watched.monitor.record)
    loaded, _, notes = diagnosis_inputs(watched.recorded, kl_weight_frozen=False)
    assert float(keras.ops.convert_to_numpy(loaded.model.beta)) == 1.0
    assert any("model.beta went from 0 to 1 while your fit ran" in n for n in notes)
    from caedoctor.models import fresh_copy

    probed = fresh_copy(loaded.model)  # what every probe trains: the copy's copy keeps the variable's value
    assert isinstance(probed.beta, keras.Variable) and float(probed.beta.numpy()) == 1.0
    loaded, _, notes = diagnosis_inputs(watched.recorded, kl_weight_frozen=True)  # a frozen one trained at 0
    assert float(keras.ops.convert_to_numpy(loaded.model.beta)) == 0.0
    assert not any("went from" in n for n in notes)


@pytest.mark.e2e
def test_caedoctor_run_watches_and_diagnoses_the_example_vae_script(tmp_path):
    """The example-shaped VAE script, unchanged, under `caedoctor run`: every step watched, a diagnosis on a copy
    built from the script's own constructor call, the script's output and exit code its own."""
    import inspect

    import tiny
    import tiny_vae
    from conftest import run_caedoctor

    script = tmp_path / "vae.py"
    source = (inspect.getsource(tiny) + "\n" + inspect.getsource(tiny_vae)).replace(
        "from __future__ import annotations\n", "")
    script.write_text(source + "\n" + (
        "if __name__ == '__main__':\n"
        "    vae = tiny_vae()\n"
        "    history = vae.fit(blobs(128, SIZE), batch_size=16, epochs=2, verbose=0)\n"
        "    print('epochs', len(history.history['loss']))\n"))
    result = run_caedoctor(["run", "--diagnose", "always", "--quick", "--steps", "50", script], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("epochs 2")
    assert "fit #1 (vae): 16 step(s) watched" in result.stderr
    assert "loss: the model's own loss (VAE.train_step)" in result.stderr
    assert "could not" not in result.stderr and "verdict: " in result.stderr
