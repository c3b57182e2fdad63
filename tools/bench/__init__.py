"""``python -m tools.bench``: performance figures beside the naive llama-index pipeline."""
