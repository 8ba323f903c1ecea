"""CAE309: dropout or penalties strong enough to pull the reconstruction towards the blurry mean image.

Three strengths are read from the model (`LayerInfo.regularization`, caedoctor.models.regularization):
- dropout rates: the largest in the decoder (everything after the bottleneck, where a dropped value is a
  missing piece of the reconstruction itself) and in the encoder;
- the weight penalty at initialisation, sum of l2 * sum(w^2) + l1 * sum(|w|) over the regularized kernels,
  as a share of the loss of predicting the mean image (`baseline_loss`: the target variance for MSE);
- the activity penalty per unit activation, sum of (l1 + l2) * values per sample over the regularized
  outputs (what the penalty would be if every penalised value were 1), as a share of the same baseline.
Each threshold is the smallest strength that cost a healthy CAE more than the seed spread at the ground
truth's budget in the plain-Keras measurements below; the counterfactual probe (`reduce_regularization`,
everything removed from the flagged layers) decides whether it costs this model anything.

Measured by bench/over_regularization.py: the healthy bases of the six development-split cases of the
generated benchmark that inject over_regularization (never the test split), each trained 1,500 steps of
its batch size as the ground truth trains, with and without each setting; the figures each threshold rests
on are next to it (MEASUREMENTS). On those bases the generator's own injections read: Dropout(0.25/0.5)
in the decoder 0.25/0.5 (fire), L2 1e-3/1e-2 a weight penalty of 0.33-35 (fire), activity L1 1e-4 0.05-0.21
(silent: it hurt none of them) and 1e-3 0.5-2.1 with MSE (fire), 0.22 with MAE (silent: no effect there).

Probe symptom (designed, not built: the monitor is being moved): the share of the regularization losses in
the training loss, read in the monitor as `sum(model.losses) / loss` at each probe step; present when it
stays above ~0.3 over the last quarter of the probe while the relative loss has stopped falling (the penalty
holds the reconstruction back, rather than having been traded off early). It would raise this cause for
regularizers the static rule misses (custom regularizers, penalties added with `add_loss`).
"""

from caedoctor.checks.rule import CONFIRM, Rule, num
from caedoctor.findings import Fix

# MEASUREMENTS (bench/over_regularization.py, 2026-12-02, dev-split bases dev-070, dev-001, dev-031, dev-055,
# dev-082, dev-090; "x1.25" = relative MSE with the setting / without, same seed; "hurt" = beyond the
# ground truth's margin max(10%, the base's seed spread); dev-055 (spread 38%) and dev-082 (169%, an AdamW
# base that trains erratically) are noise-dominated and weigh least):
#
# Decoder dropout. Rate 0.05 hurt dev-090 (dense bottleneck) in all three seeds (x1.16, x1.22, x1.15) and
# 0.1 too (x1.19, x1.27, x1.18); 0.05-0.1 did not hurt dev-070 (x1.03, x1.07), dev-001 (x1.03, x1.05) or
# dev-031 (seeds 1, 2: x0.90-x1.14; its seed 0 x1.22 was noise); 0.25 hurt dev-070 (x1.12), dev-001 (x1.22),
# dev-031 (x1.47), dev-055 (x1.45), dev-090 (x1.26); 0.5 hurt four of them (x1.33-x1.93). Any decoder
# dropout from the smallest rate that hurt is a suspicion:
MAX_DECODER_DROPOUT = 0.05
# Encoder dropout: not measured (the generator puts dropout in the decoder only). Half the values dropped is
# a rule of thumb for "strong"; below it encoder dropout is a common, deliberate regularizer.
MAX_ENCODER_DROPOUT = 0.5
# Weight penalty (initial penalty / loss of the mean image). Hurt: 0.0335 (dev-070, L2 1e-4, x1.25), 0.0824
# (dev-001, L2 1e-5, all three seeds: x1.40, x1.64, x1.28), 0.311 (dev-090, x1.20), 0.461 (dev-055, x2.06),
# 0.694 (dev-031, x1.42), 3.5 (dev-082, x4.66). Did not hurt: 0.0033 (dev-070), 0.0069 (dev-031), 0.0311
# (dev-090, x0.96), 0.0352 (dev-082), 0.0461 (dev-055), 0.0694 (dev-031, x1.16 within its 18%). The
# threshold is the smallest that hurt; a few settings just above it that did not hurt are left to the probe.
MAX_WEIGHT_PENALTY = 0.03
# Activity penalty per unit activation / loss of the mean image. Hurt: 0.973 (dev-070, L1 1e-3, x1.17),
# 1.74 (dev-055, x1.61), 2.14 (dev-001, x1.39), 2.09 (dev-082). Did not hurt: 0.0973 (dev-070), 0.214
# (dev-001), 0.217 (dev-031, MAE), 0.499 (dev-090, x1.01), 0.174 (dev-055: x1.90 in seed 0, x0.93 and x1.25
# in seeds 1 and 2: not shown). Between the largest that clearly did not hurt (0.22) and the smallest that
# did (0.97), nearer the former, so that the probe sees the borderline cases:
MAX_ACTIVITY_PENALTY = 0.3
# Without data the target variance is unknown: that of [0, 1] natural images (CIFAR-10 grey crops: ~0.06).
DEFAULT_BASELINE = 0.06
_MAE = ("mae", "mean_absolute_error", "meanabsoluteerror", "l1")


def baseline_loss(ctx) -> tuple[float, str]:
    """(the loss of predicting the mean image, how it was obtained): the target variance for MSE-like losses,
    0.8 x the target std for MAE (a Gaussian's mean absolute deviation); DEFAULT_BASELINE without data."""
    t = ctx.target
    if t is None or not t.std or t.std != t.std:
        return DEFAULT_BASELINE, f"assumed {DEFAULT_BASELINE} ([0, 1] images; no data given)"
    name = str(getattr(ctx.config, "loss_name", "") or "").lower()
    if name in _MAE:
        return 0.8 * t.std, "0.8 x the targets' std (MAE)"
    return t.std ** 2, "the targets' variance"


def strengths(analysis, baseline: float) -> dict:
    """The three strengths of the module doc, with the layers behind each."""
    out = {"decoder_dropout": 0.0, "encoder_dropout": 0.0, "weight_penalty": 0.0, "activity_penalty": 0.0,
           "layers": {"dropout_decoder": [], "dropout_encoder": [], "weight": [], "activity": []}}
    for info in analysis.layers:
        r = info.regularization or {}
        if not r:
            continue
        if r.get("dropout"):
            half = "decoder" if info.half == "decoder" else "encoder"
            out[f"{half}_dropout"] = max(out[f"{half}_dropout"], r["dropout"])
            out["layers"][f"dropout_{half}"].append(info.name)
        weight = r.get("kernel_l2", 0.0) * r.get("kernel_sq_sum", 0.0) + r.get("kernel_l1", 0.0) * r.get(
            "kernel_abs_sum", 0.0)
        if weight:
            out["weight_penalty"] += weight / baseline
            out["layers"]["weight"].append(info.name)
        activity = r.get("activity_l1", 0.0) + r.get("activity_l2", 0.0)
        if activity and info.size:
            out["activity_penalty"] += activity * info.size / baseline
            out["layers"]["activity"].append(info.name)
    return out


def run(ctx):
    baseline, how = baseline_loss(ctx)
    s = strengths(ctx.analysis, baseline)
    parts, names = [], []
    if s["decoder_dropout"] >= MAX_DECODER_DROPOUT:
        parts.append(f"dropout at rate {num(s['decoder_dropout'])} in the decoder "
                     f"({', '.join(s['layers']['dropout_decoder'][:4])})")
        names += s["layers"]["dropout_decoder"]
    if s["encoder_dropout"] >= MAX_ENCODER_DROPOUT:
        parts.append(f"dropout at rate {num(s['encoder_dropout'])} in the encoder "
                     f"({', '.join(s['layers']['dropout_encoder'][:4])})")
        names += s["layers"]["dropout_encoder"]
    if s["weight_penalty"] >= MAX_WEIGHT_PENALTY:
        parts.append(f"a weight penalty worth {num(round(s['weight_penalty'], 3))}x the loss of predicting the "
                     f"mean image at initialisation ({', '.join(s['layers']['weight'][:4])})")
        names += s["layers"]["weight"]
    if s["activity_penalty"] >= MAX_ACTIVITY_PENALTY:
        parts.append(f"an activity penalty worth {num(round(s['activity_penalty'], 3))}x that loss per unit "
                     f"activation ({', '.join(s['layers']['activity'][:4])})")
        names += s["layers"]["activity"]
    if not parts:
        return []
    names = list(dict.fromkeys(names))
    return [RULE.finding(
        f"{'; '.join(parts)}: regularization this strong trades reconstruction detail for smoothness and pulls "
        f"the output towards the blurry mean image, so the loss plateaus high; {CONFIRM} without it",
        {**{k: v for k, v in s.items() if k != "layers"}, "layers": names, "baseline_loss": baseline,
         "baseline_from": how,
         "thresholds": {"decoder_dropout": MAX_DECODER_DROPOUT, "encoder_dropout": MAX_ENCODER_DROPOUT,
                        "weight_penalty": MAX_WEIGHT_PENALTY, "activity_penalty": MAX_ACTIVITY_PENALTY}},
        Fix("reduce_regularization", {"factor": 0.0, "layers": names},
            f"remove the dropout and regularizers of {', '.join(names[:4])}{', ...' if len(names) > 4 else ''}"))]


RULE = Rule(
    code="CAE309", name="over-regularization", cause="over_regularization", severity="warning",
    summary="Dropout or weight/activity penalties strong enough to blur the reconstruction.",
    what="Reads every layer's dropout rate, kernel and bias regularizers and activity regularizer. Fires when "
         f"a decoder dropout rate is at least {num(MAX_DECODER_DROPOUT)} (encoder: {num(MAX_ENCODER_DROPOUT)}), "
         "when the weight penalty at initialisation (l2 x sum of squared weights + l1 x sum of absolute "
         f"weights) is at least {num(MAX_WEIGHT_PENALTY)}x the loss of predicting the mean image, or when the "
         f"activity penalty per unit activation ((l1 + l2) x values per sample) is at least "
         f"{num(MAX_ACTIVITY_PENALTY)}x that loss.",
    why="An autoencoder must reproduce every detail of its input; dropout in the decoder deletes parts of "
        "the reconstruction at random, and a strong L2 or sparsity penalty makes small weights or codes "
        "cheaper than a sharp image. The optimum then lies at a smooth, mean-like output and the loss "
        "plateaus above what the model can reach, which looks like non-convergence. How much is too much "
        "depends on the data and the model, so this is a warning that `caedoctor diagnose` tests by "
        "training the same model without it.",
    example="A CAE with `Dropout(0.5)` after each decoder layer: `dropout at rate 0.5 in the decoder "
            "(dropout, dropout_1): regularization this strong ...`.",
    fix="Lower the dropout rates (none in the decoder of a plain autoencoder) and the penalty strengths, or "
        "remove them; add them back only if the model overfits. Fix-as-data: `reduce_regularization` with "
        "`factor` 0 and the `layers`.",
    run=run,
)
