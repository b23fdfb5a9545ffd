"""The `lllm` command and the composition root."""

__version__: str
"""The installed lllm-cli's version (the workspace's ``VERSION`` file), read on first use."""


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("lllm-cli")
    raise AttributeError(f"module 'lllm_cli' has no attribute {name!r}")
