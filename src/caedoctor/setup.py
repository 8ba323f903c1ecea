"""`Setup`: the training as the user has it — model, optimizer, loss, data and batch size — in one object.

Every probe trains a `Setup`; every fix is a function `Setup -> Setup` that changes one thing and keeps
everything else. `Setup.describe()` is the "what was diagnosed" block of every report: the optimizer class
and its arguments, the loss, the batch size and the data, each with where it came from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from caedoctor.config import TrainConfig
from caedoctor.data import Data
from caedoctor.models import LoadedModel


@dataclass(frozen=True)
class Setup:
    """A model, how it is trained (`TrainConfig`: exact optimizer, loss, batch size) and the data.

    Attributes:
        model: the Keras model (probes train fresh copies of it, never the object itself).
        config: the optimizer, loss and batch size exactly as given, with their origins.
        data: the training and validation pipelines and their profile.
        source: the MODEL argument it came from (for reports).
    """

    model: object
    config: TrainConfig
    data: Data
    source: str = "model"

    @classmethod
    def of(cls, loaded: LoadedModel, data: Data) -> "Setup":
        """The set-up of a loaded model on `data`. A batched dataset's batch size is the user's batch size
        unless the model or a flag set one."""
        config = loaded.config
        user_batch = getattr(data, "batch_size", None)
        if user_batch and config.origin.get("batch_size", "default") == "default":
            config = config.replace(batch_size=int(user_batch), origin_label="data")
        return cls(loaded.model, config, data, loaded.source)

    @property
    def loaded(self) -> LoadedModel:
        """The model and its configuration without the data (what static checks and training read)."""
        return LoadedModel(self.model, self.config, self.source)

    @property
    def batch_size(self) -> int:
        return self.config.batch_size

    def replace(self, **changes) -> "Setup":
        """A new Setup with fields replaced (model, config, data, source)."""
        return dataclasses.replace(self, **changes)

    def with_config(self, origin_label: str = "fix", **changes) -> "Setup":
        """A new Setup whose config has `changes` (optimizer, loss, batch_size), marked with `origin_label`."""
        return self.replace(config=self.config.replace(origin_label=origin_label, **changes))

    def analysis(self):
        """The model reader's `ModelAnalysis` of this model on this data's input shape (bottleneck and half
        layer names for width fixes; an opaque one for a subclassed model), or None when the reader refuses
        the model; a fix that needs it then says so."""
        from caedoctor.errors import ModelError
        from caedoctor.models import analysis

        try:
            return analysis.analyze_model(self.model, self.data.input_shape)
        except ModelError:  # only the reader's own "cannot read this model"; a bug in it must surface
            return None

    def describe(self) -> dict:
        """What is diagnosed, as plain data: the model, the training configuration and the data."""
        from caedoctor.findings import jsonable
        from caedoctor.models.analysis import parameter_count

        profile = self.data.profile
        inputs = profile.inputs
        model = self.model
        data = {"name": self.data.name, "train": self.data.train_count, "validation": self.data.val_count,
                "input_shape": list(self.data.input_shape), "target_shape": list(self.data.target_shape),
                "input_range": inputs.value_range, "input_min": inputs.min, "input_max": inputs.max,
                "target": "the input" if profile.target is None else profile.target.value_range,
                "preprocessing": list(getattr(self.data, "preprocessing", []))}
        return jsonable({
            "model": {"source": self.source, "name": getattr(model, "name", ""),
                      "class": type(model).__name__, "parameters": parameter_count(model)},
            "training": self.config.to_dict(),
            "data": data,
            "lines": self.config.describe() + [
                f"data: {self.data.name}, {self.data.train_count:,} training / {self.data.val_count:,} validation "
                f"samples of {'x'.join(str(s) for s in self.data.input_shape)}, inputs in {inputs.value_range} "
                f"(min {inputs.min:.4g}, max {inputs.max:.4g})"
                + ("" if profile.target is None else f", a separate target in {profile.target.value_range}")],
            "notes": list(self.config.notes),
        })
