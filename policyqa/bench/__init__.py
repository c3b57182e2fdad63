"""``policyqa bench``: performance figures measured against the naive llama-index pipeline."""
