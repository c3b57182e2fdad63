"""PolicyQA entry points: the ``policyqa`` CLI and the composition roots behind it."""
