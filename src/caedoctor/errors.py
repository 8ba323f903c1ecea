"""Errors that mean "the user's input is wrong", as opposed to a bug in caedoctor.

The CLI prints any `CaedoctorError` as one line and exits with code 2; the Python API raises it,
so a notebook user sees the same message.
"""


class CaedoctorError(Exception):
    """A problem with what the user gave us (a path, an array, a spec, a flag)."""


class DataError(CaedoctorError):
    """The DATA argument cannot be read or is not usable image data."""


class ModelError(CaedoctorError):
    """The MODEL argument cannot be loaded or built."""


class ConfigError(CaedoctorError):
    """A training setting (optimizer, learning rate, loss, batch size, spec field) is invalid."""


class ExecutorError(CaedoctorError):
    """The executor asked for cannot run the probes (Ray missing or unreachable), or a probe it ran failed."""


class ShapeMismatchError(ModelError):
    """The model's output shape differs from the target shape, so it is not an autoencoder of this data."""


class CaedoctorWarning(UserWarning):
    """Something caedoctor cannot reproduce exactly (e.g. sample weights), printed rather than dropped silently."""
