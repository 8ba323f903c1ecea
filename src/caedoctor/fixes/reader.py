"""What the model reader says about a model, in the form the rewrites need: so that a fix changes exactly
what a rule read.

The static rules read a model through `analyze_model` (activations given inline as `activation=` or as
separate Activation/ReLU/LeakyReLU/ELU/PReLU layers alike; the output activation found by walking back
through cropping and reshaping; the bottleneck as the narrowest learned tensor). A rewrite that reads the
Keras layers its own way disagrees with the rule it is meant to test (a sigmoid stack written as
`Activation("sigmoid")` layers was "not tested: no hidden layer uses 'sigmoid'"). Every rewrite asks here
instead.
"""

from __future__ import annotations

from caedoctor.models.analysis import activation_of, analyze_model
from caedoctor.checks.bottleneck import bottleneck_of
from caedoctor.fixes.kind import FixContext, NotApplicable
from caedoctor.fixes.model_edit import output_layer

__all__ = ["activation_of", "analysis_of", "bottleneck_of", "canonical_activation", "output_layer_names"]

# Names a user may write for the same function; the reader reports the right-hand one.
_ALIASES = {"swish": "silu", "leakyrelu": "leaky_relu", "leaky": "leaky_relu", "hard_swish": "hard_silu"}


def canonical_activation(name: str | None) -> str | None:
    """An activation name as `activation_of` reports it ("swish" -> "silu")."""
    if name is None:
        return None
    key = str(name).strip().lower()
    return _ALIASES.get(key, key)


def analysis_of(setup, context: FixContext | None = None):
    """The model reader's analysis of the set-up's model (the context's when it has one; computed otherwise).

    Raises:
        NotApplicable: when the reader cannot read the model (the fix cannot know which layers to change).
    """
    if context is not None and context.analysis is not None:
        return context.analysis
    try:
        return analyze_model(setup.model, setup.data.input_shape)
    except Exception as exc:  # noqa: BLE001 - a model the reader cannot read still gets the other fixes
        raise NotApplicable(f"the model reader cannot analyse this model ({type(exc).__name__}: {exc})") from None


def output_layer_names(model, analysis=None) -> set:
    """The layers that make the output rather than a hidden representation: the layer producing the output,
    the reader's output activation layer (a sigmoid before a Cropping2D sets the output's range) and the
    last weighted layer before the output (its filters are the output's channels)."""
    names = {output_layer(model).name}
    if analysis is not None and not getattr(analysis, "opaque", False):
        if analysis.output_activation_layer:
            names.add(analysis.output_activation_layer)
        weighted = analysis.output_weighted_layer
        if weighted is not None:
            names.add(weighted.name)
    return names
