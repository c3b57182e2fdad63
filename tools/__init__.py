"""Developer tools run from a checkout (``python -m tools.NAME``), not shipped in the package:
experiment harnesses over the eval sets."""
