"""caedoctor's version, at the bottom of the layers: the report and the output folder's marker write it
without importing the package's front door (`caedoctor/__init__.py`, which is above everything)."""

__version__ = "0.1.0"
