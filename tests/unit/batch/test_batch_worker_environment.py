"""What a batch worker on another machine gets from the shell that started the batch."""

from __future__ import annotations

from lllm_cli.batch_runner import environment_for_workers


def test_workers_get_every_provider_and_lllm_setting_and_nothing_else() -> None:
    shell = {
        "OPENAI_API_KEY": "sk-openai",
        "ANTHROPIC_API_KEY": "sk-ant",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9/",
        "LLLM_POSTGRES_DSN": "postgresql://u:p@db/x",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        "HOME": "/root",
        "AWS_SECRET_ACCESS_KEY": "nope",
    }
    assert environment_for_workers(shell) == {
        k: v for k, v in shell.items() if k not in ("HOME", "AWS_SECRET_ACCESS_KEY")
    }
