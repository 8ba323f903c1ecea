"""Docs of the findings the probe run raises (CAE7xx), in the same four-part form as the static rules.

They are not run by `caedoctor check` (they need a probe run); `caedoctor diagnose` raises them from the
symptom detectors (`caedoctor.monitor.symptoms`) through `symptom_findings`, and `caedoctor rules` /
`caedoctor rule CODE` list and print them beside the static rules.
"""

from __future__ import annotations

from caedoctor.checks.rule import Rule


def _never(_context) -> list:
    return []  # raised by `diagnose` from the probe's traces, not by the static engine


def _rule(code, name, cause, summary, what, why, example, fix) -> Rule:
    return Rule(code=code, name=name, cause=cause, severity="warning", summary=summary, what=what, why=why,
                example=example, fix=fix, run=_never)


_LR_FIX = ("Set the learning rate to the LR range test's suggestion (fix `learning_rate`); the counterfactual "
           "probe with that rate confirms or refutes the cause.")

PROBE_RULES: tuple = (
    _rule("CAE701", "probe-nan-inf", "learning_rate_too_high", "the probe's loss turned NaN or Inf",
          "The training loss of the probe run becomes NaN or Inf.",
          "Once a weight is NaN every later step is NaN: the run is lost. With clean data the usual cause is a "
          "step size the loss surface cannot take.",
          "`preset:seed_better --lr 50` on bundled:patches32.", _LR_FIX),
    _rule("CAE702", "probe-diverging", "learning_rate_too_high", "the probe's loss grows instead of falling",
          "The loss ends well above where it started (or above the predict-the-mean level and rising).",
          "Each step overshoots the minimum by more than the last: the optimizer is unstable.",
          "SGD at learning rate 5 on 0-255 data.", _LR_FIX),
    _rule("CAE703", "probe-stuck", "learning_rate_too_high",
          "the loss stays flat near the predict-the-mean level",
          "The relative loss (loss / loss of predicting the mean image) stays near 1 and stops falling. The "
          "cause is read from the other traces: huge first updates (learning rate too high), dead ReLU units, "
          "saturated units, vanishing gradients, tiny updates (too low), else a bottleneck too narrow. When "
          "the LR range test's suggestion is more than 3x from the configured rate, a learning-rate finding "
          "in that direction is added too; the counterfactual probes decide.",
          "A CAE stuck at the mean has learned nothing about individual images; more epochs do not help.",
          "`preset:seed_hyper_bad` (Adam at 0.1): relative MSE about 3 after 500 steps.", _LR_FIX),
    _rule("CAE704", "probe-collapsed-to-mean", "learning_rate_too_high",
          "every input gets nearly the same output image",
          "The spread of outputs across the monitor batch, relative to the targets' spread, is near zero. "
          "The cause is read from the other traces as for CAE703.",
          "Collapse to the mean image is the commonest CAE failure: a blurry average for every input.",
          "`preset:seed_hyper_bad` outputs one flat colour for every patch.", _LR_FIX),
    _rule("CAE705", "probe-slow", "learning_rate_too_low", "the loss falls, but far slower than it should",
          "The loss is still falling at the end of the probe while the relative loss is still high. The "
          "cause is read from the other traces as for CAE703 (default: learning rate too low).",
          "A rate far too low converges eventually, at a cost of orders of magnitude more steps.",
          "`preset:seed_better --lr 1e-6`.", "Raise the learning rate to the LR range test's suggestion."),
    _rule("CAE706", "probe-oscillating", "learning_rate_too_high", "the loss jumps up and down",
          "Step-to-step changes of the loss are large against its trend, with many sign changes.",
          "An optimizer bouncing across a valley makes no progress along it.", "Adam at 0.05 on small batches.",
          _LR_FIX),
    _rule("CAE707", "probe-dead-units", "dead_relu", "many ReLU units never activate",
          "The share of ReLU channels that are <= 0 for every sample of the monitor batch.",
          "A dead unit has zero gradient and never recovers; a decoder of dead units cannot reconstruct.",
          "Conv2D(..., activation='relu', bias_initializer=Constant(-3)).",
          "Replace ReLU by LeakyReLU(0.1) in hidden layers (fix `hidden_activation`); the probe confirms or "
          "refutes it. The field notes' ReLU CAE has no dead units on bundled:patches32."),
    _rule("CAE708", "probe-saturation", "saturated_activation", "sigmoid/tanh units sit in their flat tails",
          "The share of sigmoid/tanh units whose activations sit in the flat tails for most values.",
          "A saturated unit passes almost no gradient. A saturated sigmoid *output* is often a consequence of "
          "a rate far too high; the diagnosis retests this finding on top of the strongest fix.",
          "A stack of sigmoid hidden layers, or Adam at 0.1 with a sigmoid output.",
          "Add BatchNormalization after hidden conv layers (fix `add_batchnorm`), or use (Leaky)ReLU."),
    _rule("CAE709", "probe-vanishing-gradients", "vanishing_gradients", "almost no gradient reaches the layers",
          "The ratio of first-layer to last-layer gradient norms, and their absolute size against the weights.",
          "Layers that receive no gradient do not learn, however long you train.",
          "Eight sigmoid hidden layers.", "Add BatchNormalization (fix `add_batchnorm`) or non-saturating "
          "activations. When a ReLU layer's units are mostly dead, the finding names `dead_relu` instead "
          "(a dead unit passes no gradient) and tests LeakyReLU."),
    _rule("CAE710", "probe-exploding-gradients", "exploding_gradients", "gradient norms grow without bound",
          "Gradient norms far above the weights' norms, or growing steadily over the probe.",
          "Huge gradients make huge steps: the loss jumps, then turns NaN.", "SGD at a high rate on 0-255 data.",
          "Re-initialise the kernels with glorot_uniform (fix `initializer`); on 0-255 data the finding names "
          "`data_not_normalized` and tests scaling the inputs; a rate the LR range test finds too high adds a "
          "learning-rate finding."),
    _rule("CAE711", "probe-overfitting", "overfitting", "validation loss rises while training loss falls",
          "Over the recorded epochs, the validation loss rises while the training loss keeps falling.",
          "The model memorises the training images instead of learning to reconstruct images in general.",
          "64 training images and a large CAE trained for many epochs.",
          "More (or augmented) data, dropout or weight decay; a change the user makes (fix `data`). The "
          "probe tests it in reverse: it trains on a quarter of the images, and confirms the cause when that is "
          "clearly worse (more images of the same kind would still help)."),
)

PROBE_RULES_BY_CODE = {r.code: r for r in PROBE_RULES}
