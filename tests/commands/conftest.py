"""The smooth-image fixtures (`smooth_cae`) for the tests in this folder."""

from smooth_cae import images, tiny_data, tiny_loaded  # noqa: F401  (pytest fixtures)
