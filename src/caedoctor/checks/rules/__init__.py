"""The static rules, one module each, in one folder per family (the hundreds of their codes).

- `dataset/` (CAE1xx): the data itself: NaNs, too few or duplicate images, scale, pairing of targets.
- `output/` (CAE2xx): the output layer, the loss and the shapes against the data.
- `architecture/` (CAE3xx): bottleneck, receptive field, capacity, skip connections, regularization.
- `activations/` (CAE4xx): activations and initial weights that saturate or kill units.
- `training_setup/` (CAE5xx): learning rate and batch size.

A rule module defines `run(ctx) -> list[Finding]` and `RULE = Rule(...)` with its code, cause, severity and
four-part doc. Adding a rule is one new module in its family's folder: `caedoctor.checks.registry` finds it
(a module whose name starts with `_` holds helpers the family's rules share; any other module must define
`RULE`, and a module outside a family folder is refused, so no rule file is silently left out).
"""
