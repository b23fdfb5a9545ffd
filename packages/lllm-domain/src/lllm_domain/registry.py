"""Registries: prompts by path, proxy classes by path, system types by name.

Registries are plain objects you can create and pass around; a default instance of each exists
for convenience (``default_prompts``, ``default_proxies``, ``default_systems``). Registering the
same key twice is an error unless ``replace=True``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from lllm_domain.errors import RegistryError
from lllm_domain.prompt import Prompt

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from keys to values that refuses silent overwrites."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._origins: dict[str, str] = {}

    def register(self, key: str, value: T, *, replace: bool = False, origin: str = "") -> T:
        """Add ``value`` under ``key``. ``origin`` (a module or file) makes duplicate errors
        name both places."""
        if not key:
            raise RegistryError(f"a {self.kind} needs a non-empty key")
        if key in self._items and not replace and self._items[key] is not value:
            first = self._origins.get(key) or "an earlier registration"
            second = origin or "this registration"
            raise RegistryError(
                f"{self.kind} {key!r} is already registered (from {first}; again from {second}); "
                "rename one of them or pass replace=True"
            )
        self._items[key] = value
        if origin:
            self._origins[key] = origin
        return value

    def unregister(self, key: str) -> None:
        """Remove ``key`` (missing keys are ignored)."""
        self._items.pop(key, None)
        self._origins.pop(key, None)

    def get(self, key: str) -> T:
        """The value under ``key``; a missing key's error suggests the closest keys."""
        try:
            return self._items[key]
        except KeyError:
            raise RegistryError(self._missing_message(key)) from None

    def origin(self, key: str) -> str | None:
        """Where ``key`` was registered from, if known."""
        return self._origins.get(key)

    def _missing_message(self, key: str) -> str:
        close = difflib.get_close_matches(key, list(self._items), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        known = "" if close else f" (registered: {', '.join(sorted(self._items)) or 'none'})"
        return f"no {self.kind} registered as {key!r}{hint}{known}"

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        """Sorted keys."""
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        """Sorted (key, value) pairs."""
        return sorted(self._items.items())

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()
        self._origins.clear()


class PromptRegistry(Registry[Prompt]):
    """Prompts by path."""

    def __init__(self) -> None:
        super().__init__("prompt")

    def add(self, prompt: Prompt, *, replace: bool = False, origin: str = "") -> Prompt:
        """Register ``prompt`` under its own path."""
        return self.register(prompt.path, prompt, replace=replace, origin=origin)

    def resolve(self, path: str) -> Prompt:
        """The prompt at ``path``, including derived handler paths like ``task::exception``."""
        root, _, handler = path.partition("::")
        prompt = self.get(root)
        if not handler:
            return prompt
        derived = {
            "exception": prompt.exception_handler,
            "interrupt": prompt.interrupt_handler,
            "final_interrupt": prompt.final_interrupt_handler,
        }.get(handler)
        if derived is None:
            raise RegistryError(
                f"{path!r} names an unknown handler {handler!r}; use exception, interrupt or "
                "final_interrupt"
            )
        return derived


class ProxyRegistry(Registry[type[Any]]):
    """Proxy classes by path (e.g. ``finance/fmp``)."""

    def __init__(self) -> None:
        super().__init__("proxy")


class SystemRegistry(Registry[type[Any]]):
    """System classes by type name."""

    def __init__(self) -> None:
        super().__init__("system type")


default_prompts = PromptRegistry()
"""The default prompt registry (discovery fills it unless you pass your own)."""
default_proxies = ProxyRegistry()
"""The default proxy registry."""
default_systems = SystemRegistry()
"""The default system-type registry; System subclasses register here by default."""


def register_prompt(
    prompt: Prompt, *, replace: bool = False, registry: PromptRegistry | None = None
) -> Prompt:
    """Register ``prompt`` (in the default registry unless one is given) and return it."""
    # An empty registry is falsy (it has __len__), so test for None explicitly.
    target = registry if registry is not None else default_prompts
    return target.add(prompt, replace=replace)


def register_proxy(
    path: str,
    proxy_cls: type[Any] | None = None,
    *,
    replace: bool = False,
    registry: ProxyRegistry | None = None,
) -> Any:
    """Register a proxy class under ``path``; usable as a class decorator when ``proxy_cls`` is
    omitted: ``@register_proxy("finance/fmp")``."""
    target = registry if registry is not None else default_proxies

    def wrap(cls: type[Any]) -> type[Any]:
        target.register(path, cls, replace=replace, origin=f"{cls.__module__}.{cls.__qualname__}")
        return cls

    return wrap(proxy_cls) if proxy_cls is not None else wrap
