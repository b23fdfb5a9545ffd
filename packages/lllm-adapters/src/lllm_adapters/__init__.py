"""Adapters that implement lllm-domain's ports against the outside world."""

__all__: list[str] = []
