"""The `lllm` command and the composition root."""

__version__ = "0.1.0"
