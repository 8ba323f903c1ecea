"""`check()`: read the model, its configuration and (optionally) the data, and run the static rules."""

from __future__ import annotations

from caedoctor.models.analysis import analyze_model
from caedoctor.checks.registry import select_rules
from caedoctor.checks.rule import CheckContext
from caedoctor.display import CheckResult
from caedoctor.findings import SEVERITIES

# Without data, presets, specs and factories are built for this shape (the bundled patches' shape).
DEFAULT_INPUT_SHAPE = (32, 32, 3)


def _profile_of(data):
    """A `DataProfile` from a `Data`, a `DataProfile`, or anything `load_data` reads (None stays None)."""
    if data is None:
        return None
    from caedoctor.data import Data, DataProfile, profile_data

    if isinstance(data, DataProfile):
        return data
    if isinstance(data, Data):
        return data.profile
    return profile_data(data)


def _loss_scale(config, target_shape, profile) -> float | None:
    from caedoctor.losses import loss_gradient_scale

    target = profile.target_stats if profile is not None else None
    value_range = (target.min, target.max) if target is not None else (0.0, 1.0)
    return loss_gradient_scale(config.loss, target_shape, value_range)


def build_context(model_or_loaded, data=None, config=None, *, input_shape=None) -> CheckContext:
    """Everything the rules read. `model_or_loaded`: a `LoadedModel`, a `keras.Model` or a MODEL string.

    The shape analysed is the data's input shape; without data, `input_shape`, else the model's own, else
    `DEFAULT_INPUT_SHAPE` for MODEL strings that need one (presets, specs, factories).
    """
    from caedoctor.models import LoadedModel, load_model

    profile = _profile_of(data)
    shape = tuple(profile.inputs.shape) if profile is not None else (
        tuple(int(s) for s in input_shape) if input_shape is not None else None)
    if isinstance(model_or_loaded, LoadedModel):
        loaded = model_or_loaded
    else:
        loaded = load_model(model_or_loaded, shape or DEFAULT_INPUT_SHAPE)
    analysis = analyze_model(loaded.model, shape)
    config = config or loaded.config
    target_shape = tuple(profile.target_stats.shape) if profile is not None else tuple(analysis.input_shape)
    return CheckContext(analysis=analysis, config=config, profile=profile, ssim_max_val=config.loss.max_val,
                        loss_scale=_loss_scale(config, target_shape, profile))


def skipped_for_opaque_model(context: CheckContext, select=None, ignore=None) -> list:
    """Codes of the selected rules that read the layer graph, which a subclassed model does not expose."""
    if not context.analysis.opaque:
        return []
    return [r.code for r in select_rules(select, ignore) if r.reads_graph]


def run_rules(context: CheckContext, select=None, ignore=None) -> CheckResult:
    """Findings of the selected rules, errors first, then by code; rules needing absent data are skipped,
    and so are rules that read the layer graph of a subclassed model (`skipped_for_opaque_model`)."""
    findings = [f for rule in select_rules(select, ignore) if rule.applies_to(context) for f in rule.run(context)]
    return CheckResult(sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.code)))


def check(model_or_loaded, data=None, config=None, select=None, ignore=None, *, input_shape=None) -> CheckResult:
    """Static checks of a CAE set-up, without training: a list of `Finding`s, errors first (a `CheckResult`:
    a list that prints one line per finding and shows a table in a notebook).

    Args:
        model_or_loaded: a `LoadedModel` (model plus its `TrainConfig`), a `keras.Model` (compiled or not)
            or a MODEL string such as "preset:seed_bad".
        data: optional; a `Data`, a `DataProfile`, or a DATA argument for `load_data` (a string, an array,
            an `(x, y)` pair). Without data, rules that need it are skipped and the target shape is taken
            to be the model's input shape.
        config: a `TrainConfig` to check instead of the model's own.
        select / ignore: rule codes or prefixes (a list or a comma-separated string), e.g. "CAE2".
        input_shape: (H, W, C) to analyse when there is no data.

    Example::

        from caedoctor.checks import check
        for finding in check("preset:seed_hyper_bad", "bundled:patches32"):
            print(finding.code, finding.severity, finding.message)
        print(check("preset:seed_hyper_bad"))  # caedoctor check: 1 warning, then one line per finding
    """
    context = build_context(model_or_loaded, data, config, input_shape=input_shape)
    return run_rules(context, select, ignore)
