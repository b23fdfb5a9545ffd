"""Project scaffolds for `lllm create`."""
