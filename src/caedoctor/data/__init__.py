"""The user's data as given: a DATA argument turned into training and validation pipelines and a profile.

- `load`: `load_data(spec)` -> `Data` (unbatched `tf.data` pipelines of `(input, target)` pairs, the
  `DataProfile`, the batch size when the data says it), and `profile_data` (the profile alone); the DATA forms
  (bundled, Keras datasets, files, image folders, TFRecords, arrays, datasets, generators) are listed there.
- `profile`: `DataProfile`, measured in one streaming pass; `sources`, `streams`, `tfrecord`, `bundled`: the
  readers of each form.

Values are never changed behind the user's back: uint8 images stay 0-255 (as floats), because an
unnormalised input is one of the causes caedoctor diagnoses.
"""

from caedoctor.data.load import (DEFAULT_DATA, NORMALIZATIONS, Data, load_data,  # noqa: F401
                                 profile_data)
from caedoctor.data.profile import ArrayStats, DataProfile

__all__ = ["Data", "DataProfile", "ArrayStats", "load_data", "profile_data", "DEFAULT_DATA", "NORMALIZATIONS"]
