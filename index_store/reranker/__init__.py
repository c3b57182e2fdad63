"""The learned second stage: a cross-encoder that scores whether a passage answers a question."""
