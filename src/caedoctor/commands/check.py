"""`caedoctor check`, `caedoctor rules`, `caedoctor rule CODE`: static checks, like a linter.

Exit codes of `check`: 0 no warnings or errors (info findings allowed), 1 warnings or errors found,
2 usage or input error (an unreadable MODEL or DATA, an unknown rule code).
"""

from __future__ import annotations

import json
import re
import sys
import time

import click

from caedoctor.commands._options import config_options, handle_errors, image_size_option, normalize_option

EXIT_FINDINGS = 1
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _parse_shape(ctx, param, value):
    if value is None:
        return None
    parts = re.split(r"[x,\s]+", value.strip().lower())
    try:
        shape = tuple(int(p) for p in parts if p)
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise click.BadParameter(f"expected HxWxC such as 32x32x3, got {value!r}")
    return shape


def _console():
    from rich.console import Console

    # soft_wrap: one finding per line even when piped, so `grep CAE201` finds the whole message.
    return Console(highlight=False, soft_wrap=True)


def print_findings(findings: list, title: str, console=None) -> None:
    """Findings grouped by severity (errors first), one line each: code, cause, message with numbers."""
    from rich.text import Text

    console = console or _console()
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITY_STYLE}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in counts.items())
    console.print(Text(f"{title}: {summary}", style="bold"))
    for severity, style in SEVERITY_STYLE.items():
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        console.print(Text(f"\n{severity}", style=style))
        for f in group:
            line = Text("  ")
            line.append(f.code, style=style)
            line.append(f" {f.cause}", style="bold")
            line.append(f"  {f.message}")
            console.print(line)
    if counts["error"] or counts["warning"]:
        console.print(Text("\n`caedoctor rule CODE` explains a rule; `caedoctor diagnose` measures whether each "
                           "suspicion is a cause.", style="dim"))


@click.command("check")
@click.argument("model_spec", metavar="MODEL")
@click.option("--data", "data_spec", default=None,
              help="DATA to check against (bundled:NAME, keras:NAME, .npz, .npy, image folder). Optional: "
                   "without it the model and its set-up are checked alone.")
@image_size_option("Resize every image to N x N.")
@normalize_option("'unit' divides uint8 images by 255; 'none' checks the values as they are.")
@click.option("--input-shape", callback=_parse_shape, default=None, metavar="HxWxC",
              help="Without --data: the input shape to build presets/specs/factories for and to check "
                   "(default: the model's own, else 32x32x3).")
@config_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--select", default=None, metavar="CODES", help="Only these rules: codes or prefixes, e.g. CAE2,CAE501.")
@click.option("--ignore", default=None, metavar="CODES", help="Skip these rules: codes or prefixes.")
@handle_errors
def check_command(model_spec, data_spec, image_size, normalize, input_shape, unsafe, optimizer, lr, loss,
                  batch_size, fmt, select, ignore):
    """Check MODEL (and DATA) for causes of non-convergence that can be seen without training.

    Nothing is trained, but MODEL as file.py:function is imported and run to build the model (a line on
    stderr says so): only for code you trust.

    Exit codes: 0 no warnings or errors (info allowed), 1 warnings or errors found, 2 usage or input error,
    3 internal error.
    """
    from caedoctor.checks import DEFAULT_INPUT_SHAPE, build_context, run_rules, select_rules
    from caedoctor.models import load_model

    select_rules(select, ignore)  # an unknown code is a usage error: report it before any loading
    start = time.perf_counter()
    profile = None
    if data_spec is not None:
        from caedoctor.data import profile_data

        profile = profile_data(data_spec, image_size=image_size, normalize=normalize)
        shape = tuple(profile.inputs.shape)
    else:
        shape = input_shape
    loaded = load_model(model_spec, shape or DEFAULT_INPUT_SHAPE, unsafe=unsafe, optimizer=optimizer,
                        learning_rate=lr, loss=loss, batch_size=batch_size)
    context = build_context(loaded, profile, input_shape=shape)
    findings = run_rules(context, select, ignore)
    seconds = time.perf_counter() - start
    if fmt == "json":
        click.echo(json.dumps([f.to_dict() for f in findings], indent=2))
    else:
        from caedoctor.checks.rule import shape_text

        on = (f"{profile.name} ({shape_text(profile.shape)}, {profile.count:,} samples)" if profile is not None
              else f"no data (input {shape_text(context.analysis.input_shape)})")
        print_findings(findings, f"caedoctor check {model_spec} on {on}, {seconds:.1f} s")
    if any(f.severity in ("error", "warning") for f in findings):
        sys.exit(EXIT_FINDINGS)


@click.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def rules_command(fmt):
    """List every rule, static then probe findings (CAE7xx): code, severity, cause and summary."""
    from caedoctor.checks import PROBE_RULES, RULES

    if fmt == "json":
        click.echo(json.dumps([{"code": r.code, "name": r.name, "kind": kind, "cause": r.cause,
                                "severity": r.severity, "needs_data": r.needs_data, "summary": r.summary,
                                "what": r.what, "why": r.why, "example": r.example, "fix": r.fix}
                               for kind, rules in (("static", RULES), ("probe", PROBE_RULES)) for r in rules],
                              indent=2))
        return
    from rich.text import Text

    console = _console()
    console.print(Text(f"{len(RULES)} rules; `caedoctor rule CODE` prints one rule's doc", style="bold"))
    width = max(len(r.cause) for r in RULES)
    for r in RULES:
        line = Text(f"{r.code}  ")
        line.append(f"{r.severity:<8}", style=SEVERITY_STYLE[r.severity])
        line.append(f" {r.cause:<{width}}  {r.summary}{' (needs data)' if r.needs_data else ''}")
        console.print(line)
    console.print(Text(f"\n{len(PROBE_RULES)} probe findings, raised by `caedoctor diagnose` from the probe run",
                       style="bold"))
    for r in PROBE_RULES:
        console.print(Text(f"{r.code}  {r.severity:<8} {r.cause:<{width}}  {r.summary}"))


@click.command("rule")
@click.argument("code")
@handle_errors
def rule_command(code):
    """Print the documentation of rule CODE (What it checks / Why it matters / Example / Fix)."""
    from caedoctor.checks import get_rule

    click.echo(get_rule(code).doc())
