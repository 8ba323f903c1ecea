"""The CLI's commands, one module each (shared options in `_options`); `caedoctor.cli` assembles the group."""
