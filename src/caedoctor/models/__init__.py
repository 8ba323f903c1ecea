"""The user's model as given: a MODEL argument turned into a Keras model plus its training configuration.

- `load`: `load_model(spec, input_shape)` -> `LoadedModel` (model, `TrainConfig`, source); the MODEL forms
  (presets, `.keras` files, `file.py:NAME`, spec files, a `keras.Model`) are listed there;
  `config_from_compiled` reads a compiled model's optimizer and loss exactly.
- `compile`: `compile_model` (a fresh optimizer and loss), `make_optimizer`, `fresh_copy` (fresh weights).
- `construction`: records how the user's code constructs subclassed models, so `fresh_copy` can build one
  that has no `get_config` again.
- `validate`: `check_autoencoder_shapes` (model against data) and `check_names` (names TensorFlow accepts).
- `presets` (the field notes' three CAEs), `spec` (declarative CAEs), `analysis` (what the static rules read),
  `regularization` (the penalties and dropout a model carries).
"""

from caedoctor.models.compile import compile_model, fresh_copy, make_optimizer
from caedoctor.models.load import LoadedModel, config_from_compiled, load_model
from caedoctor.models.presets import PRESETS
from caedoctor.models.validate import check_autoencoder_shapes, check_names

__all__ = ["LoadedModel", "load_model", "compile_model", "make_optimizer", "fresh_copy", "config_from_compiled",
           "check_autoencoder_shapes", "check_names", "PRESETS"]
