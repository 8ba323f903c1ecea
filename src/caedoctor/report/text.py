"""The report as text: the diagnosis, the repair and the demo's table for a terminal (rich), read at a glance."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from caedoctor.diagnosis.horizon import horizon_line


def _console() -> Console:
    # Piped output (CI logs, `| tee`) gets a wide console so tables keep cause names whole.
    return Console() if sys.stdout.isatty() else Console(width=140)


def demo_table(rows, console: Console | None = None) -> None:
    console = console or _console()
    table = Table(title="caedoctor demo: the field notes' three CAEs on bundled:patches32 (validation)")
    for col in ("model", "train loss", "val loss", "relative MSE", "PSNR dB", "SSIM", "seconds"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in rows:
        table.add_row(r.model, f"{r.train_loss:.5f}", f"{r.val_loss:.5f}", f"{r.relative_mse:.3f}",
                      f"{r.psnr:.2f}", f"{r.ssim:.3f}", f"{r.seconds:.1f}")
    console.print(table)
    console.print("relative MSE: validation MSE / variance of the targets; 1.0 = no better than the mean image.")
    diagnosed = [r for r in rows if r.diagnosis is not None]
    if not diagnosed:
        return
    table = Table(title="caedoctor diagnose: verdicts and causes (each tested by a counterfactual probe)")
    for col in ("model", "verdict", "confirmed causes (effect)", "refuted: not a cause here"):
        table.add_column(col)
    for r in diagnosed:
        d = r.diagnosis
        confirmed = "\n".join(f"{f.cause} ({_effect_text(f)})" if f.effect else f.cause for f in d.confirmed()) or "-"
        refuted = "\n".join(f"{f.cause} ({_refuted_text(f)})" for f in d.refuted()) or "-"
        table.add_row(r.model, d.verdict, confirmed, refuted)
    console.print(table)
    for r in diagnosed:
        if r.report:
            console.print(f"report: {r.report}", highlight=False)


_VERDICT_STYLE = {"converging": "bold green", "slow": "bold yellow", "not_converging": "bold red",
                  "diverging": "bold red", "unstable": "bold yellow", "overfitting": "bold yellow",
                  "invalid": "bold red"}


def _refuted_text(f) -> str:
    """Why a finding is refuted, in a few words: its own probe, or the strongest cause that explains it."""
    by = f.evidence.get("explained_by")
    if f.evidence.get("symptom_gone"):
        return f"its symptom is gone once {by} is fixed; alone: {_effect_text(f)}"
    if by:
        return f"adds nothing once {by} is fixed: {_effect_text(f)}"
    if f.evidence.get("minor_gain"):
        return f"{_effect_text(f)}: {f.evidence['minor_gain']}"
    joint = f.evidence.get("joint") or {}
    if joint.get("status") == "refuted":
        return f"{_effect_text(f)}; with {joint['fixes']} together too: relative MSE {joint['after']:.4g}"
    if joint.get("status") == "confirmed":
        return f"{_effect_text(f)}; the joint fix does as well without it"
    return _effect_text(f)


def _effect_text(f) -> str:
    if f.effect is None:
        return ""
    metric = {"relative_mse": "relative MSE", "dssim": "1-SSIM"}.get(f.effect.metric, f.effect.metric)
    step = f.evidence.get("decided_at", "").split(":")[0] if f.evidence.get("decided_at") else ""
    return f"{metric} {f.effect.before:.4g} -> {f.effect.after:.4g}" + (f" (decided at {step})" if step else "")


def print_setup(setup: dict | None, console: Console) -> None:
    """The "what was diagnosed" block: optimizer, rate, loss, batch size and data, each with its origin
    ([model], [flag], [default], ...), then every note on what caedoctor chose or could not reproduce."""
    if not setup:
        return
    console.print("[bold]diagnosed[/]", highlight=False)
    for line in setup.get("lines", []):
        console.print(f"  {line}", highlight=False, markup=False)
    for note in setup.get("notes", []):
        console.print(f"  [yellow]note:[/] {note}", highlight=False)


def print_partial(result, console: Console) -> None:
    """When the time budget left the diagnosis partial: one line saying so, what was left untested and how long
    the full diagnosis needs (`Diagnosis.partial_reason`), where it cannot be missed."""
    if result.partial:
        console.print(f"[bold reverse yellow]PARTIAL:[/] [bold yellow]{escape(result.partial_reason or '')}[/]",
                      highlight=False)


def print_diagnosis(result, console: Console | None = None) -> None:
    """The verdict first, and right under it whether the diagnosis is partial; then confirmed causes ranked by
    measured effect, refuted suspicions, and the suspicions held back or not tested."""
    console = console or _console()
    style = _VERDICT_STYLE.get(result.verdict, "bold")
    console.print(f"[{style}]verdict: {result.verdict}[/]  ({result.model} on {result.data}, "
                  f"{result.elapsed_s:.1f} s)")
    print_partial(result, console)
    print_setup(result.setup, console)
    if result.probe:
        rel = result.probe.get("relative_loss")
        console.print(f"probe: {result.probe['steps_run']} steps, validation relative MSE "
                      f"{rel if rel is None else format(rel, '.4f')} (1.0 = predicting the mean image)"
                      + (f", stopped: {result.probe['stopped']}" if result.probe.get("stopped") else ""))
    print_horizon(result.horizon, console)
    if result.lr_find and result.lr_find.get("suggestion"):
        console.print(f"LR range test suggests {result.lr_find['suggestion']:.2g}")
    confirmed = result.confirmed()
    if confirmed:
        console.print("\n[bold]causes (confirmed by measurement, largest effect first)[/]")
        for f in confirmed:
            fix = f" fix: {f.fix.description}" if f.fix and f.fix.description else ""
            alt = f.evidence.get("alternative_to")
            alt = f" (an alternative to {alt}'s fix: either one is enough)" if alt else ""
            if f.evidence.get("confirmed_jointly_with"):
                alone = f.evidence["alone"]
                alt = (f" (only together with {', '.join(f.evidence['confirmed_jointly_with'])}: alone "
                       f"{alone['before']:.4g} -> {alone['after']:.4g})")
            console.print(f"  [red]{f.code}[/] {f.cause} [{f.status}] {f.message}  {_effect_text(f)}{alt}.{fix}",
                          highlight=False)
    refuted = result.refuted()
    if refuted:
        console.print("\n[bold]not a cause here (refuted by measurement)[/]")
        for f in refuted:
            extra = ""
            if f.evidence.get("symptom_gone"):
                extra = f" (a consequence: {f.evidence['symptom_gone']})"
            elif f.evidence.get("explained_by"):
                extra = f" (helps alone, but adds nothing once {f.evidence['explained_by']} is fixed)"
            elif f.evidence.get("minor_gain"):
                extra = f" ({f.evidence['minor_gain']})"
            elif f.evidence.get("early_only"):
                extra = f" ({f.evidence['early_only']})"
            elif f.evidence.get("error_rule_refuted"):
                extra = f" ({f.evidence['error_rule_refuted']})"
            elif (f.evidence.get("joint") or {}).get("status") in ("refuted", "confirmed"):
                extra = f" ({_refuted_text(f).split('; ', 1)[1]})"
            console.print(f"  [green]{f.code}[/] {f.cause}: {f.message}  {_effect_text(f)}{extra}", highlight=False)
    suspected = [f for f in result.suspected() if not f.evidence.get("held_back")]
    held = [f for f in result.suspected() if f.evidence.get("held_back")]
    if held:
        console.print("\n[bold]suspected: the fix helped, but an untested cause can produce it by itself[/]")
        for f in held:
            console.print(f"  [yellow]{f.code}[/] {f.cause}: {f.message}  {_effect_text(f)} "
                          f"({f.evidence['held_back']})", highlight=False)
    if suspected:
        console.print("\n[bold]suspected, not tested[/]")
        for f in suspected:
            why = f.evidence.get("not_tested", "")
            console.print(f"  [yellow]{f.code}[/] {f.cause}: {f.message}" + (f" ({why})" if why else ""),
                          highlight=False)
    if not (confirmed or refuted or suspected or held):
        console.print("no problems found")
    print_timings(result.timings, console)


def print_horizon(horizon: dict | None, console: Console) -> None:
    """The horizon the verdict and causes are about, and the baseline's forecast there."""
    if horizon:
        console.print(horizon_line(horizon), highlight=False)


def print_timings(timings: dict | None, console: Console) -> None:
    """One line: the seconds of each stage, then where the probes' time went."""
    if not timings or not timings.get("stages"):
        return
    stages = ", ".join(f"{k} {v:.1f}" for k, v in timings["stages"].items() if v >= 0.05)
    parts = ", ".join(f"{k} {v:.1f}" for k, v in (timings.get("probe_parts") or {}).items() if v >= 0.05)
    console.print(f"\n[dim]time (s): {stages}" + (f"; inside the probes: {parts}" if parts else "") + "[/]",
                  highlight=False)


def print_repair(result, paths: dict, console: Console | None = None) -> None:
    """Before and after, the changes kept and rolled back, and where the files are."""
    console = console or _console()
    verdict = result.diagnosis.verdict if result.diagnosis is not None else "?"
    ok = "[bold green]repaired[/]" if result.converged else "[bold red]not repaired[/]"
    console.print(f"{ok}  (verdict before: {verdict}; {result.seconds:.1f} s)")
    if result.reason:
        console.print(f"  {result.reason}", highlight=False)
    before = result.original_metrics.get("relative_mse")
    after = result.repaired_metrics.get("relative_mse")
    if isinstance(before, float) and isinstance(after, float):
        console.print(f"relative MSE: original {before:.4f} -> repaired {after:.4f} (same budget)")
    for c in result.changes:
        mark = "[green]kept[/]" if c.kept else "[yellow]not kept[/]"
        eff = c.effect or {}
        measured = f" ({eff.get('metric')} {eff.get('before'):.4g} -> {eff.get('after'):.4g})" \
            if eff.get("before") is not None and eff.get("after") is not None else ""
        console.print(f"  {mark} {c.what} {c.params}{measured}  {c.note}", highlight=False)
    for name, path in paths.items():
        console.print(f"  {name}: {path}", highlight=False)
