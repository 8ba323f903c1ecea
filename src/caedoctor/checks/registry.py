"""The one code table: the static rules (`RULES`, run by `check`) and the probe rules (`PROBE_RULES`, CAE7xx,
raised by `diagnose` from a probe run). Adding a rule: a new module in `caedoctor.checks.rules` (or
`caedoctor.checks.probe_rules`), one line here."""

from __future__ import annotations

from caedoctor.checks.probe_rule import ProbeRule
from caedoctor.checks.probe_rules import (
    collapsed_to_mean,
    dead_units,
    diverging,
    exploding_gradients,
    heavy_regularization,
    nan_inf,
    oscillating,
    overfitting,
    saturation,
    slow,
    stuck,
    vanishing_gradients,
)
from caedoctor.checks.rule import Rule
from caedoctor.checks.rules import (
    batch_larger_than_data,
    batchnorm_small_batch,
    bce_target_range,
    bce_without_sigmoid,
    classification_loss,
    bottleneck_too_narrow,
    capacity_mismatch,
    duplicate_samples,
    input_shape_mismatch,
    inputs_not_normalized,
    kernel_larger_than_map,
    large_initial_weights,
    negative_initial_bias,
    learning_rate_too_high,
    learning_rate_too_low,
    nan_in_data,
    output_range_clips_target,
    output_range_excludes_target,
    output_shape_mismatch,
    over_regularization,
    overcomplete_latent,
    receptive_field_gaps,
    relu_signed_data,
    saturating_first_layer,
    saturating_initial_weights,
    saturating_stack,
    skip_connections,
    small_receptive_field,
    ssim_max_val,
    target_scale_differs,
    targets_not_paired,
    too_few_samples,
    transpose_kernel_stride,
    unbounded_output,
)
from caedoctor.errors import ConfigError

RULES: tuple[Rule, ...] = (
    # CAE1xx: the data
    nan_in_data.RULE,
    too_few_samples.RULE,
    duplicate_samples.RULE,
    inputs_not_normalized.RULE,
    target_scale_differs.RULE,
    targets_not_paired.RULE,
    # CAE2xx: output, loss and shapes against the data
    output_range_excludes_target.RULE,
    output_range_clips_target.RULE,
    unbounded_output.RULE,
    bce_target_range.RULE,
    ssim_max_val.RULE,
    bce_without_sigmoid.RULE,
    output_shape_mismatch.RULE,
    input_shape_mismatch.RULE,
    classification_loss.RULE,
    # CAE3xx: architecture
    bottleneck_too_narrow.RULE,
    overcomplete_latent.RULE,
    skip_connections.RULE,
    capacity_mismatch.RULE,
    kernel_larger_than_map.RULE,
    receptive_field_gaps.RULE,
    small_receptive_field.RULE,
    transpose_kernel_stride.RULE,
    over_regularization.RULE,
    # CAE4xx: activations
    relu_signed_data.RULE,
    saturating_stack.RULE,
    saturating_first_layer.RULE,
    large_initial_weights.RULE,
    saturating_initial_weights.RULE,
    negative_initial_bias.RULE,
    # CAE5xx: training set-up
    learning_rate_too_high.RULE,
    learning_rate_too_low.RULE,
    batchnorm_small_batch.RULE,
    batch_larger_than_data.RULE,
)

# CAE7xx: findings raised from what a probe run showed (`caedoctor diagnose`); `check` does not run them.
PROBE_RULES: tuple[ProbeRule, ...] = (
    nan_inf.RULE,
    diverging.RULE,
    stuck.RULE,
    collapsed_to_mean.RULE,
    slow.RULE,
    oscillating.RULE,
    dead_units.RULE,
    saturation.RULE,
    vanishing_gradients.RULE,
    exploding_gradients.RULE,
    overfitting.RULE,
    heavy_regularization.RULE,
)

_BY_CODE = {rule.code: rule for rule in RULES}
assert len(_BY_CODE) == len(RULES), "two rules share a code"
_ALL_BY_CODE = {rule.code: rule for rule in RULES + PROBE_RULES}
assert len(_ALL_BY_CODE) == len(RULES) + len(PROBE_RULES), "a probe rule shares a code with another rule"
PROBE_RULES_BY_SYMPTOM = {rule.symptom: rule for rule in PROBE_RULES}
assert len(PROBE_RULES_BY_SYMPTOM) == len(PROBE_RULES), "two probe rules share a symptom"


def get_rule(code: str) -> Rule:
    """The rule with `code` (case-insensitive), static or probe; `ConfigError` naming the known codes otherwise."""
    rule = _ALL_BY_CODE.get(str(code).strip().upper())
    if rule is None:
        raise ConfigError(f"unknown rule {code!r}; `caedoctor rules` lists them ({RULES[0].code} to "
                          f"{RULES[-1].code})")
    return rule


def _codes(spec) -> list:
    if spec is None:
        return []
    if isinstance(spec, str):
        spec = spec.split(",")
    return [str(c).strip().upper() for c in spec if str(c).strip()]


def select_rules(select=None, ignore=None) -> list:
    """Rules chosen by code or code prefix, like ruff: `select="CAE2,CAE501"`, `ignore=["CAE302"]`.

    Raises:
        ConfigError: for a code or prefix that matches no rule.
    """
    chosen, dropped = _codes(select), _codes(ignore)
    for prefix in chosen + dropped:
        if not any(code.startswith(prefix) for code in _BY_CODE):
            raise ConfigError(f"no rule matches {prefix!r} (codes run from {RULES[0].code} to {RULES[-1].code})")
    rules = [r for r in RULES if not chosen or any(r.code.startswith(p) for p in chosen)]
    return [r for r in rules if not any(r.code.startswith(p) for p in dropped)]
