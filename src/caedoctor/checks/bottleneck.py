"""The bottleneck, one answer for every stage: the rules that judge it, the symptom findings that suspect it
and the fix that widens it all ask `bottleneck_of(analysis)`.

Before there was one answer, the stages could contradict each other: a stalled probe suspected
`bottleneck_too_narrow` ("make the bottleneck 4x wider": not tested, "no bottleneck layer found") next to
CAE302 saying the same bottleneck "holds as many values as the input". A bottleneck can be too narrow only
when it compresses (fewer values than the input) and a learned layer sets its width; `Bottleneck.narrowable`
says whether both hold and `why_not` says which does not, in words a finding can quote.

Example::

    from caedoctor.models.analysis import analyze_model
    from caedoctor.checks.bottleneck import bottleneck_of

    b = bottleneck_of(analyze_model(model, (32, 32, 3)))
    print(b.tensor, b.layer, b.ratio, b.narrowable, b.why_not)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bottleneck:
    """The narrowest learned tensor of a CAE and the layer whose width sets it (see `bottleneck_of`)."""

    tensor: str | None  # the layer producing the narrowest tensor (`ModelAnalysis.bottleneck`)
    layer: str | None  # the last weighted layer at or before it: the one to widen or narrow
    shape: tuple | None
    size: int | None  # values per sample
    input_size: int

    @property
    def ratio(self) -> float | None:
        """Bottleneck values per input value: below 1 it compresses, at 1 or more it can copy the input."""
        if not self.size or not self.input_size:
            return None
        return self.size / self.input_size

    @property
    def compresses(self) -> bool:
        return self.ratio is not None and self.ratio < 1

    @property
    def narrowable(self) -> bool:
        """Whether "the bottleneck is too narrow" can be true of this model and tested by widening it."""
        return self.compresses and self.layer is not None

    @property
    def why_not(self) -> str:
        """Why the bottleneck cannot be too narrow ("" when it can)."""
        if self.tensor is None or self.ratio is None:
            return "the model reader found no bottleneck (no tensor between input and output narrower than the rest)"
        if not self.compresses:
            return (f"the bottleneck {self.tensor} holds {self.size:,} values per sample, {self.ratio:.3g}x the "
                    f"input's {self.input_size:,}: it does not compress, so it cannot be too narrow")
        if self.layer is None:
            return f"no learned layer sets the width of the bottleneck {self.tensor}"
        return ""


def bottleneck_of(analysis) -> Bottleneck:
    """The bottleneck as the model reader found it (an opaque or unread model has none)."""
    if analysis is None or getattr(analysis, "opaque", False):
        return Bottleneck(None, None, None, None, getattr(analysis, "input_size", 0) or 0)
    return Bottleneck(analysis.bottleneck, analysis.bottleneck_layer, analysis.bottleneck_shape, analysis.latent_size,
                      analysis.input_size)
