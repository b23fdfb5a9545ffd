"""`python -m lllm_cli` runs the `lllm` command."""

from lllm_cli.app import main

main()
