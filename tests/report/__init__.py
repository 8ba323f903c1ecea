# A package, so this folder's conftest.py is imported as `report.conftest` and does not shadow the
# top-level tests/conftest.py that other test modules import helpers from (`from conftest import ...`).
