"""How a CandidateSpec becomes a model: built-in families, import strings, ONNX files."""
