"""The probing core: run a `Setup` for N steps under a time budget, reuse compiled models, score, time.

Every probe caedoctor runs goes through `ProbeRunner` (`runner`): the diagnosis' baseline and
counterfactuals, the repair's verification probes, the learning-rate range test and the benchmarks. The
reasoning about probes (which to run, how to compare them, what they prove) is `caedoctor.diagnosis`, on top.

- `runner`: `ProbeRunner`, the one public way to run a probe (`probe`, `extend`, `scoring_for`).
- `probes`: what a probe is (`ProbeResult`) and how it trains (`run_probe`, `extend_probe`).
- `reuse`: compiled models kept across probes of the same graph (`CompiledModels`).
- `budget`: the wall-clock budget and what it left unrun (`Budget`).
- `checkpoints`: the fixed check batch probes are scored on along the way (`CheckSet`, `Checkpoints`).
- `timings`: where the time went (`Timings`).
- `sweep`: the rate sweep the LR range test runs (`ProbeRunner.sweep`): a rate per step, an online stop.
"""

from caedoctor.probing.probes import ProbeResult
from caedoctor.probing.runner import ProbeRunner

__all__ = ["ProbeRunner", "ProbeResult"]
