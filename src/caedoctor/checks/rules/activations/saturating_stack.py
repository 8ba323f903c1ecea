"""CAE402: hidden sigmoid/tanh layers stacked deep enough for gradients to vanish."""

from caedoctor.models.analysis import NORM, SATURATING, SIGMOID_LIKE
from caedoctor.checks.rule import CONFIRM, Rule
from caedoctor.findings import Fix

MAX_SIGMOIDS = 3  # each multiplies the gradient by at most 0.25: 0.25^4 = 0.4% after four
MAX_SATURATING = 7  # tanh's bound is 1, but unnormalised deep stacks drift into saturation


def _longest_chains(a):
    """Per layer: the most hidden sigmoid-like, and saturating-without-normalisation, layers on a path."""
    hidden = {name for name, _ in a.hidden_activations()}
    sig, sat, names = {}, {}, {}
    for info in a.layers:
        parents = [p for p in info.parents if p in sig]
        best_sig = max(parents, key=lambda p: sig[p], default=None)
        best_sat = max(parents, key=lambda p: sat[p], default=None)
        s = sig[best_sig] if best_sig else 0
        t = sat[best_sat] if best_sat else 0
        chain = list(names[best_sig]) if best_sig else []
        if info.kind in NORM:
            t = 0
        if info.name in hidden and info.activation in SATURATING:
            t += 1
            if info.activation in SIGMOID_LIKE:
                s += 1
                chain.append(info.name)
        sig[info.name], sat[info.name], names[info.name] = s, t, chain
    return max(sig.values(), default=0), max(sat.values(), default=0), max(names.values(), key=len, default=[])


def run(ctx):
    n_sig, n_sat, chain = _longest_chains(ctx.analysis)
    if n_sig <= MAX_SIGMOIDS and n_sat <= MAX_SATURATING:
        return []
    if n_sig > MAX_SIGMOIDS:
        what = (f"{n_sig} hidden sigmoid layers lie on one path ({', '.join(chain[:5])}"
                f"{', ...' if len(chain) > 5 else ''}): each multiplies the backpropagated gradient by at most "
                f"0.25, so the first layers get at most {0.25 ** n_sig:.2g} of the last layer's gradient")
    else:
        what = (f"{n_sat} hidden tanh/sigmoid layers lie on one path without normalisation between them: "
                "pre-activations drift into the flat tails, where the gradient vanishes")
    return [RULE.finding(
        f"{what}. Adam's per-weight scaling hides part of this; {CONFIRM} (per-layer gradient norms)",
        {"sigmoid_layers_on_path": n_sig, "saturating_layers_on_path": n_sat, "gradient_bound": 0.25 ** n_sig,
         "layers": chain},
        Fix("hidden_activation", {"from": "sigmoid" if n_sig > MAX_SIGMOIDS else "tanh", "to": "leaky_relu"},
            "use LeakyReLU (or add BatchNormalization) in the hidden layers"))]


RULE = Rule(
    code="CAE402", name="saturating-stack", cause="vanishing_gradients", severity="warning",
    summary="Deep stacks of hidden sigmoid/tanh layers: the gradient can vanish.",
    what="Counts, along the longest path, the hidden sigmoid-like activations (derivative at most 0.25) and "
         "the tanh/sigmoid activations not separated by a normalisation layer. Fires above "
         f"{MAX_SIGMOIDS} sigmoids or {MAX_SATURATING} saturating layers.",
    why="Backpropagation multiplies the gradient by each activation's derivative. After n sigmoids it is at "
        "most 0.25^n of what it was, so the encoder's first layers barely learn and the loss creeps. Adaptive "
        "optimisers partly compensate, so this is a warning that diagnosis measures.",
    example="An old-style CAE with sigmoid after each of its six convolutions: `5 hidden sigmoid layers lie "
            "on one path (...): each multiplies the backpropagated gradient by at most 0.25, ...`.",
    fix="Use ReLU-family activations (LeakyReLU) in hidden layers, or BatchNormalization before the tanh "
        "units. Fix-as-data: `hidden_activation` from `sigmoid` (or `tanh`) to `leaky_relu`.",
    run=run,
)
