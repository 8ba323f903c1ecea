"""Tests of caedoctor.training, nan_guard and distribute (a package named `train`: bench/generated has a module
`training` that its tests put on sys.path)."""
