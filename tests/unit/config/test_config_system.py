"""System configs from YAML and TOML: typed values, env interpolation and clear errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lllm_adapters.config import check_prompt_paths, load_system_config, system_config_to_data
from lllm_domain.config import AgentConfig, SystemConfig
from lllm_domain.errors import ConfigError
from lllm_domain.prompt import Prompt
from lllm_domain.registry import PromptRegistry

from tests.support.config_projects import write_files

DEFAULT_YAML = """
name: research
log_type: localfile
log_dir: ${LOG_ROOT:-logs}/research
ckpt_dir: ckpt
random_seed: 42
max_exception_retry: 2
max_interrupt_times: 4
max_llm_recall: 1
activate_proxies:
  - finance/fmp
  - web/search
cutoff_date: 2024-01-31
deploy_mode: false
agent_configs:
  analyst:
    model_name: gpt-4o-mini
    system_prompt_path: analyst/system
    temperature: 0.2
    max_completion_tokens: 800
    model_args:
      api_key: ${SERVICE_API_KEY}
  critic:
    model_name: o3-mini
    system_prompt_path: critic/system
    api_type: response
extra:
  topic: markets
"""

DEFAULT_TOML = """
name = "research"
random_seed = 7
activate_proxies = ["finance/fmp"]
cutoff_date = 2024-01-31

[agent_configs.analyst]
model_name = "gpt-4o-mini"
system_prompt_path = "analyst/system"
"""

ENV = {"SERVICE_API_KEY": "sk-live-abcdef123456"}


def load(tmp_path: Path, name: str, text: str, env: dict[str, str] | None = None) -> SystemConfig:
    write_files(tmp_path, {name: text})
    return load_system_config(tmp_path / name, environ=ENV if env is None else env)


def test_yaml_config_is_fully_typed(tmp_path: Path) -> None:
    config = load(tmp_path, "config/research/default.yaml", DEFAULT_YAML)
    assert config.name == "research"
    assert config.log_dir == "logs/research"
    assert config.random_seed == 42
    assert (config.max_exception_retry, config.max_interrupt_times, config.max_llm_recall) == (
        2,
        4,
        1,
    )
    assert config.activate_proxies == ("finance/fmp", "web/search")
    assert config.cutoff_date == dt.date(2024, 1, 31)
    assert config.deploy_mode is False
    analyst = config.agent_configs["analyst"]
    assert isinstance(analyst, AgentConfig)
    assert analyst.temperature == 0.2
    assert analyst.model_args == {"api_key": "sk-live-abcdef123456"}
    assert config.agent_configs["critic"].api_type == "response"
    assert config.extra == {"topic": "markets"}


def test_toml_config(tmp_path: Path) -> None:
    config = load(tmp_path, "default.toml", DEFAULT_TOML)
    assert config.random_seed == 7
    assert config.cutoff_date == dt.date(2024, 1, 31)
    assert config.agent_configs["analyst"].model_name == "gpt-4o-mini"


def test_env_default_and_missing_variable(tmp_path: Path) -> None:
    config = load(tmp_path, "c.yaml", DEFAULT_YAML, env={**ENV, "LOG_ROOT": "/var/l"})
    assert config.log_dir == "/var/l/research"
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "c.yaml", DEFAULT_YAML, env={})
    assert "environment variable SERVICE_API_KEY is not set" in str(info.value)
    assert info.value.line == 21


def test_an_empty_variable_takes_the_colon_dash_default_like_the_shell(tmp_path: Path) -> None:
    config = load(tmp_path, "c.yaml", DEFAULT_YAML, env={**ENV, "LOG_ROOT": ""})
    assert config.log_dir == "logs/research"


def test_dash_without_colon_keeps_an_empty_value(tmp_path: Path) -> None:
    text = "name: r\nlog_dir: ${LOG_ROOT-logs}/research\nckpt_dir: ${CKPT-ckpt}\n"
    config = load(tmp_path, "c.yaml", text, env={"LOG_ROOT": ""})
    assert (config.log_dir, config.ckpt_dir) == ("/research", "ckpt")


def test_double_dollar_escapes_a_literal_reference(tmp_path: Path) -> None:
    text = "name: r\nlog_dir: $${LOG_ROOT}/x\nextra:\n  shell: echo $${HOME:-~} ${WHO:-me}\n"
    config = load(tmp_path, "c.yaml", text, env={"LOG_ROOT": "/nope", "HOME": "/h"})
    assert config.log_dir == "${LOG_ROOT}/x"
    assert config.extra == {"shell": "echo ${HOME:-~} me"}


def test_interpolated_values_take_the_type_of_their_field(tmp_path: Path) -> None:
    text = """
name: r
random_seed: ${SEED:-42}
deploy_mode: ${DEPLOY:-false}
max_llm_recall: ${RECALL}
agent_configs:
  a:
    model_name: m
    system_prompt_path: a/system
    temperature: ${TEMP:-0.5}
    model_args: {k: "${K:-7}"}
"""
    config = load(tmp_path, "c.yaml", text, env={"RECALL": "3", "DEPLOY": "yes"})
    assert (config.random_seed, config.deploy_mode, config.max_llm_recall) == (42, True, 3)
    agent = config.agent_configs["a"]
    assert agent.temperature == 0.5
    assert agent.model_args == {"k": "7"}  # untyped settings stay strings
    assert type(agent.model_args["k"]) is str


def test_an_interpolated_value_of_the_wrong_type_names_its_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "c.yaml", "name: r\nrandom_seed: ${SEED:-42}\n", env={"SEED": "many"})
    message = str(info.value)
    assert "random_seed: expected an integer" in message
    assert "('many') from ${SEED}" in message
    assert info.value.line == 2


def test_secrets_are_never_written_back(tmp_path: Path) -> None:
    config = load(tmp_path, "c.yaml", DEFAULT_YAML)
    data = system_config_to_data(config, environ=ENV)
    assert data["agent_configs"]["analyst"]["model_args"] == {"api_key": "${SERVICE_API_KEY}"}
    assert "sk-live" not in repr(data)
    assert data["cutoff_date"] == "2024-01-31"


def test_a_postgres_connection_string_from_the_environment_is_never_shown_or_written_back(
    tmp_path: Path,
) -> None:
    dsn = "postgresql://lllm:pg-password-123@db:5432/logs"
    config = load(
        tmp_path,
        "c.yaml",
        "name: r\nlog_type: postgres\nlog_dsn: ${LLLM_POSTGRES_DSN}\n",
        env={"LLLM_POSTGRES_DSN": dsn},
    )
    assert config.log_type == "postgres"
    assert config.log_dsn == dsn
    assert "pg-password-123" not in repr(config)
    data = system_config_to_data(config, environ={"LLLM_POSTGRES_DSN": dsn})
    assert data["log_dsn"] == "${LLLM_POSTGRES_DSN}"


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "c.yaml", "name: x\nagent_configs:\n  a: [1, 2\n  b: 3\n")
    assert info.value.file == str(tmp_path / "c.yaml")
    assert info.value.line is not None and info.value.line >= 3
    assert "malformed YAML" in str(info.value)


@pytest.mark.parametrize(
    ("text", "line", "hint"),
    [
        (
            "name: x\nagent_configs:\n  a:\n    model_name: m\n   b: 2\n",
            5,
            "check this line's indentation against the line above",
        ),
        (
            "name: x\nagent_configs:\n  a:\n    model_name: m\n      temperature: 1\n",
            5,
            "check this line's indentation against the line above",
        ),
        ("name: x\nagent_configs:\n\ta: 1\n", 3, "YAML indents with spaces only"),
        ("name: x\nactivate_proxies: [a, b\n", 3, "add the missing ']' or '}'"),
    ],
    ids=["dedented", "over-indented", "tab", "unclosed"],
)
def test_malformed_yaml_says_what_to_check_in_plain_words(
    tmp_path: Path, text: str, line: int, hint: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "c.yaml", text)
    assert info.value.line == line
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'c.yaml'}:{line}: malformed YAML: ")
    assert hint in message
    assert "(the parser says: " in message  # the parser's own words stay, last


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "c.toml", 'name = "x"\nrandom_seed = = 3\n')
    assert info.value.line == 2
    assert "malformed TOML" in str(info.value)


def test_unknown_key_suggests_the_nearest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "c.yaml", "name: x\nmax_exeption_retry: 3\n")
    assert "unknown key 'max_exeption_retry'; did you mean 'max_exception_retry'?" in str(
        info.value
    )
    assert info.value.line == 2
    with pytest.raises(ConfigError) as info:
        load(
            tmp_path,
            "c.yaml",
            "name: x\nagent_configs:\n  a:\n    model_name: m\n    system_prompt: p\n",
        )
    assert "agent_configs.a.system_prompt: unknown key 'system_prompt'" in str(info.value)
    assert "did you mean 'system_prompt_path'?" in str(info.value)
    assert info.value.line == 5


def test_wrong_types(tmp_path: Path) -> None:
    cases = {
        "name: x\nrandom_seed: lots\n": ("random_seed: expected an integer or null", 2),
        "name: x\ndeploy_mode: 3\n": ("deploy_mode: expected true or false", 2),
        "name: x\ncutoff_date: soon\n": ("cutoff_date: expected a date (YYYY-MM-DD)", 2),
        "name: x\nlog_type: files\n": (
            "log_type: expected 'localfile' or 'sqlite' or 'postgres' or 'none'",
            2,
        ),
        "name: x\nagent_configs: [a]\n": ("agent_configs: expected a mapping of names", 2),
        "name: x\nagent_configs:\n  a:\n    model_name: m\n    system_prompt_path: p\n"
        "    temperature: hot\n": ("agent_configs.a.temperature: expected a number", 6),
        "- just\n- a list\n": ("the file must hold a mapping", None),
    }
    for text, (expected, line) in cases.items():
        with pytest.raises(ConfigError) as info:
            load(tmp_path, "c.yaml", text)
        assert expected in str(info.value), text
        assert info.value.line == line, text


def test_missing_required_key_and_domain_validation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing required key.*'name'"):
        load(tmp_path, "c.yaml", "random_seed: 1\n")
    with pytest.raises(ConfigError, match="max_llm_recall must be >= 0"):
        load(tmp_path, "c.yaml", "name: x\nmax_llm_recall: -1\n")


def test_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unsupported config format '\.json'"):
        load(tmp_path, "c.json", "{}")


def test_system_prompt_path_naming_no_prompt_lists_the_closest(tmp_path: Path) -> None:
    write_files(tmp_path, {"c.yaml": DEFAULT_YAML})
    config = load_system_config(tmp_path / "c.yaml", environ=ENV)
    prompts = PromptRegistry()
    for path in ("analyst/system", "critic/systems", "critic/review", "other/thing"):
        prompts.add(Prompt(path=path, template="x"))
    with pytest.raises(ConfigError) as info:
        check_prompt_paths(config, prompts, file=tmp_path / "c.yaml")
    message = str(info.value)
    assert "agent_configs.critic.system_prompt_path 'critic/system' names no registered" in message
    assert "closest registered paths: 'critic/systems'" in message
    assert info.value.line == 24
    prompts.add(Prompt(path="critic/system", template="x"))
    check_prompt_paths(config, prompts)


BUDGET_YAML = """
name: x
budget:
  max_requests: 10
  max_tokens: 20000
  max_cost_usd: 0.25
retry:
  max_attempts: 2
  max_total_wait: 20
"""


def test_budget_and_retry_policy_come_from_the_config(tmp_path: Path) -> None:
    from lllm_domain.limits import Budget, RetryPolicy

    config = load(tmp_path, "c.yaml", BUDGET_YAML)
    assert config.budget == Budget(max_requests=10, max_tokens=20000, max_cost_usd=0.25)
    assert config.retry == RetryPolicy(max_attempts=2, max_total_wait=20.0)
    # Omitted: no budget, the default retry policy.
    plain = load(tmp_path, "d.yaml", "name: x\n")
    assert plain.budget == Budget()
    assert plain.retry == RetryPolicy()
    # Written back and read again unchanged.
    data = system_config_to_data(config)
    assert data["budget"]["max_cost_usd"] == 0.25
    assert data["retry"]["max_attempts"] == 2


def test_budget_and_retry_errors_name_the_key(tmp_path: Path) -> None:
    cases = {
        "name: x\nbudget:\n  max_cost: 1\n": (
            "budget.max_cost: unknown key 'max_cost'; did you mean 'max_cost_usd'?",
            3,
        ),
        "name: x\nbudget:\n  max_requests: many\n": (
            "budget.max_requests: expected an integer or null",
            3,
        ),
        "name: x\nbudget: 5\n": ("budget: expected Budget settings (a mapping)", 2),
        "name: x\nretry:\n  max_attempts: -1\n": (
            "retry: RetryPolicy.max_attempts must be >= 0, not -1",
            2,
        ),
        "name: x\nbudget:\n  max_cost_usd: -1\n": ("budget: Budget.max_cost_usd must be", 2),
    }
    for text, (expected, line) in cases.items():
        with pytest.raises(ConfigError) as info:
            load(tmp_path, "c.yaml", text)
        assert expected in str(info.value), (text, str(info.value))
        assert info.value.line == line, text


def test_the_config_budget_and_retry_policy_reach_every_agent(tmp_path: Path) -> None:
    from lllm_domain.limits import Budget, RetryPolicy
    from lllm_domain.system import Runtime, System
    from lllm_domain.testing import ScriptedCaller

    config = load(
        tmp_path,
        "c.yaml",
        BUDGET_YAML + "agent_configs:\n  a:\n    model_name: m\n    system_prompt_path: s/system\n",
    )
    prompts = PromptRegistry()
    prompts.register("s/system", Prompt("s/system", "You help."))

    class Plain(System, register=False):
        pass

    system = Plain(config, runtime=Runtime(callers=lambda c: ScriptedCaller([]), prompts=prompts))
    limits = system.agents["a"].limits
    assert limits.budget == Budget(max_requests=10, max_tokens=20000, max_cost_usd=0.25)
    assert limits.retry == RetryPolicy(max_attempts=2, max_total_wait=20.0)
