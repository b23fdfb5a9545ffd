"""Registries: explicit objects, duplicate keys refused unless replaced, helpful misses."""

from __future__ import annotations

import pytest
from lllm_domain.errors import RegistryError
from lllm_domain.prompt import Prompt
from lllm_domain.registry import (
    PromptRegistry,
    ProxyRegistry,
    Registry,
    default_prompts,
    default_proxies,
    register_prompt,
    register_proxy,
)


def test_duplicate_key_names_both_origins() -> None:
    registry: Registry[int] = Registry("widget")
    registry.register("a", 1, origin="pkg/one.py")
    with pytest.raises(RegistryError) as info:
        registry.register("a", 2, origin="pkg/two.py")
    message = str(info.value)
    assert "widget 'a' is already registered" in message
    assert "pkg/one.py" in message and "pkg/two.py" in message
    assert "replace=True" in message
    assert registry.get("a") == 1
    assert isinstance(info.value, KeyError)


def test_registering_the_same_object_again_is_harmless() -> None:
    registry: Registry[object] = Registry("thing")
    value = object()
    registry.register("k", value)
    registry.register("k", value)
    assert len(registry) == 1


def test_replace_overwrites_explicitly() -> None:
    registry: Registry[int] = Registry("widget")
    registry.register("a", 1, origin="one")
    registry.register("a", 2, replace=True, origin="two")
    assert registry.get("a") == 2
    assert registry.origin("a") == "two"


def test_missing_key_suggests_the_closest_or_lists_all() -> None:
    registry: Registry[int] = Registry("widget")
    for key in ("analysis/summary", "analysis/critic", "writer"):
        registry.register(key, 1)
    with pytest.raises(RegistryError) as info:
        registry.get("analysis/sumary")
    # The closest key comes first; keys listed only when nothing is close.
    assert str(info.value).startswith(
        "no widget registered as 'analysis/sumary'; did you mean 'analysis/summary'"
    )
    assert "writer" not in str(info.value)
    with pytest.raises(
        RegistryError,
        match=r"\(registered: analysis/critic, analysis/summary, "
        r"writer\)",
    ):
        registry.get("zzz")
    with pytest.raises(RegistryError, match="non-empty key"):
        registry.register("", 1)


def test_registry_reading_and_forgetting() -> None:
    registry: Registry[int] = Registry("widget")
    registry.register("b", 2)
    registry.register("a", 1, origin="here")
    assert list(registry) == registry.keys() == ["a", "b"]
    assert registry.items() == [("a", 1), ("b", 2)]
    assert "a" in registry and "c" not in registry
    registry.unregister("a")
    registry.unregister("missing")
    assert registry.origin("a") is None and "a" not in registry
    registry.clear()
    assert len(registry) == 0


def test_prompt_registry_resolves_handler_paths() -> None:
    registry = PromptRegistry()
    task = registry.add(Prompt("task", "Do {x}", xml_tags=("a",)))
    assert registry.resolve("task") is task
    assert registry.resolve("task::exception") == task.exception_handler
    assert registry.resolve("task::interrupt").path == "task::interrupt"
    assert registry.resolve("task::final_interrupt").xml_tags == ("a",)
    with pytest.raises(RegistryError, match="unknown handler 'nope'"):
        registry.resolve("task::nope")
    with pytest.raises(RegistryError, match="already registered"):
        registry.add(Prompt("task", "Other"))


def test_register_prompt_uses_the_default_or_the_given_registry() -> None:
    mine = PromptRegistry()
    prompt = Prompt("tests/domain/register-prompt", "x")
    assert register_prompt(prompt, registry=mine) is prompt
    assert mine.get(prompt.path) is prompt
    assert prompt.path not in default_prompts
    try:
        register_prompt(prompt)
        assert default_prompts.get(prompt.path) is prompt
        replacement = Prompt(prompt.path, "y")
        with pytest.raises(RegistryError):
            register_prompt(replacement)
        register_prompt(replacement, replace=True)
        assert default_prompts.get(prompt.path) is replacement
    finally:
        default_prompts.unregister(prompt.path)


def test_register_proxy_as_call_and_decorator() -> None:
    mine = ProxyRegistry()

    @register_proxy("finance/fmp", registry=mine)
    class Fmp:
        pass

    class Other:
        pass

    assert mine.get("finance/fmp") is Fmp
    assert mine.origin("finance/fmp") == f"{__name__}.{Fmp.__qualname__}"
    with pytest.raises(RegistryError, match=r"Fmp.*Other"):
        register_proxy("finance/fmp", Other, registry=mine)
    assert register_proxy("finance/fmp", Other, replace=True, registry=mine) is Other
    assert "finance/fmp" not in default_proxies
