"""The model catalog: model cards loaded from TOML data, extended and overridden by users."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from attrs import evolve
from lllm_domain.config import as_date
from lllm_domain.errors import ConfigError
from lllm_domain.model_card import MODALITIES, LongPromptPricing, ModelCard, Pricing

from lllm_adapters.openai.settings import is_official_url

GENERIC_FEATURES = frozenset({"tools", "structured_output", "logprobs", "streaming", "vision"})
"""What an unknown model on a compatible server is assumed to support (the server decides)."""

_CARD_KEYS = frozenset(
    {
        "provider",
        "base_url",
        "api_key_env",
        "features",
        "snapshots",
        "context_window",
        "max_output_tokens",
        "pricing",
        "allowed_args",
        "arg_sets",
        "encoding",
        "api_types",
        "knowledge_cutoff",
        "input_modalities",
        "source",
        "checked",
    }
)
_RATE_KEYS = {
    "input": "input_per_million",
    "cached_input": "cached_input_per_million",
    "output": "output_per_million",
    "cache_write": "cache_write_per_million",
    "cache_write_1h": "cache_write_1h_per_million",
}
_PRICING_KEYS = frozenset({*_RATE_KEYS, "long_prompt"})
_LONG_PROMPT_KEYS = frozenset({*_RATE_KEYS, "over_tokens"})


class ModelCatalog:
    """Model cards by name, with lookup by dated snapshot too.

    Build the built-in catalog with :meth:`builtin`, then add or override cards from your own
    configuration with :meth:`extended` (same schema as the package's ``model_cards.toml``: a
    mapping of model name to fields; an existing card keeps every field you do not give).
    """

    def __init__(
        self,
        cards: Iterable[ModelCard] = (),
        *,
        arg_sets: Mapping[str, Iterable[str]] | None = None,
        as_of: str | None = None,
    ) -> None:
        self._cards: dict[str, ModelCard] = {}
        self._snapshots: dict[str, str] = {}
        self.arg_sets: dict[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in (arg_sets or {}).items()
        }
        self.as_of = as_of
        """The date the built-in prices were checked, if known."""
        for card in cards:
            self._add(card)

    def _add(self, card: ModelCard) -> None:
        self._cards[card.name] = card
        for snapshot in card.snapshots:
            self._snapshots[snapshot] = card.name

    @classmethod
    def builtin(cls) -> ModelCatalog:
        """A fresh catalog of the cards shipped with LLLM (parsed once, then copied)."""
        base = _builtin()
        return cls(base._cards.values(), arg_sets=base.arg_sets, as_of=base.as_of)

    @classmethod
    def from_toml(cls, path: str | Path) -> ModelCatalog:
        """A catalog of exactly the cards in the TOML file at ``path``."""
        text = Path(path).read_text(encoding="utf-8")
        return cls.from_data(_load_toml(text, str(path)), source=str(path))

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, source: str = "model cards") -> ModelCatalog:
        """A catalog from plain data: ``{"as_of": ..., "arg_sets": {...}, "models": {...}}``."""
        catalog = cls(arg_sets=data.get("arg_sets") or {}, as_of=data.get("as_of"))
        return catalog.extended(data.get("models") or {}, source=source)

    def extended(
        self, models: Mapping[str, Mapping[str, Any]], *, source: str = "configuration"
    ) -> ModelCatalog:
        """A copy with ``models`` (name → card fields) added, or merged onto existing cards."""
        new = ModelCatalog(self._cards.values(), arg_sets=self.arg_sets, as_of=self.as_of)
        for name, fields in models.items():
            new._add(new._card_from_data(name, fields, source, base=self._cards.get(name)))
        return new

    def with_cards(self, *cards: ModelCard) -> ModelCatalog:
        """A copy with ``cards`` added (replacing cards of the same name)."""
        new = ModelCatalog(self._cards.values(), arg_sets=self.arg_sets, as_of=self.as_of)
        for card in cards:
            new._add(card)
        return new

    def card(self, model: str, *, base_url: str | None = None) -> ModelCard:
        """The card for ``model`` (a name or a dated snapshot).

        An unknown model is accepted with a generic card when it is served by a compatible
        server (``base_url`` is not api.openai.com); on OpenAI itself it is a
        :class:`ConfigError`, since its prices and limits are unknown.
        """
        found = self._cards.get(model)
        if found is not None:
            return found
        owner = self._snapshots.get(model)
        if owner is not None:
            # A pinned snapshot: same card, but send exactly that snapshot.
            return evolve(self._cards[owner], name=model, snapshots=(model,))
        if base_url is not None and not is_official_url(base_url):
            return generic_card(model, base_url=base_url)
        raise ConfigError(
            f"unknown model {model!r}: no model card for it. Known models: "
            f"{', '.join(sorted(self._cards))}. Add a card under [models.{model!r}] in your "
            "configuration, or point OPENAI_BASE_URL at the compatible server that serves it."
        )

    def __contains__(self, model: object) -> bool:
        return model in self._cards or model in self._snapshots

    def __iter__(self) -> Iterator[ModelCard]:
        return iter(self._cards.values())

    def __len__(self) -> int:
        return len(self._cards)

    def names(self) -> list[str]:
        """The card names, sorted."""
        return sorted(self._cards)

    def _card_from_data(
        self, name: str, fields: Mapping[str, Any], source: str, base: ModelCard | None
    ) -> ModelCard:
        where = f"{source}: model {name!r}"
        unknown = sorted(set(fields) - _CARD_KEYS)
        if unknown:
            raise ConfigError(
                f"{where} has unknown field(s) {unknown}; allowed: {sorted(_CARD_KEYS)}"
            )
        card = base or ModelCard(name=name, features=GENERIC_FEATURES)
        changes: dict[str, Any] = {}
        for key in ("provider", "base_url", "api_key_env", "encoding", "source"):
            if key in fields:
                changes[key] = _typed(fields[key], str, where, key)
        for key in ("knowledge_cutoff", "checked"):
            if key in fields:
                changes[key] = _date(fields[key], where, key)
        if "input_modalities" in fields:
            modalities = tuple(_strings(fields["input_modalities"], where, "input_modalities"))
            unknown_modalities = sorted(set(modalities) - MODALITIES)
            if unknown_modalities or not modalities:
                raise ConfigError(
                    f"{where}: input_modalities must list some of {sorted(MODALITIES)}, "
                    f"not {list(modalities)}"
                )
            changes["input_modalities"] = modalities
        for key in ("context_window", "max_output_tokens"):
            if key in fields:
                changes[key] = _typed(fields[key], int, where, key)
        if "features" in fields:
            changes["features"] = frozenset(_strings(fields["features"], where, "features"))
        if "snapshots" in fields:
            changes["snapshots"] = tuple(_strings(fields["snapshots"], where, "snapshots"))
        if "api_types" in fields:
            api_types = tuple(_strings(fields["api_types"], where, "api_types"))
            bad = [a for a in api_types if a not in ("completion", "response")]
            if bad:
                raise ConfigError(f"{where}: api_types must be 'completion' or 'response': {bad}")
            changes["api_types"] = api_types
        if "arg_sets" in fields or "allowed_args" in fields:
            args: list[str] = []
            for set_name in _strings(fields.get("arg_sets", ()), where, "arg_sets"):
                if set_name not in self.arg_sets:
                    raise ConfigError(
                        f"{where}: unknown arg set {set_name!r}; known: {sorted(self.arg_sets)}"
                    )
                args.extend(self.arg_sets[set_name])
            args.extend(_strings(fields.get("allowed_args", ()), where, "allowed_args"))
            changes["allowed_args"] = tuple(dict.fromkeys(args))
        if "pricing" in fields:
            changes["pricing"] = _pricing(fields["pricing"], card.pricing, where)
        return evolve(card, name=name, **changes)


def generic_card(model: str, *, base_url: str | None = None) -> ModelCard:
    """A permissive card for a model LLLM knows nothing about (free, arguments unchecked)."""
    return ModelCard(
        name=model,
        provider="openai-compatible",
        base_url=base_url,
        features=GENERIC_FEATURES,
        api_types=("completion", "response"),
    )


def _pricing(data: Any, base: Pricing, where: str) -> Pricing:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: pricing must be a table of {', '.join(sorted(_PRICING_KEYS))}")
    unknown = sorted(set(data) - _PRICING_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: pricing has unknown key(s) {unknown}; use {sorted(_PRICING_KEYS)}"
        )
    values: dict[str, Any] = _rates(data, where, "pricing")
    if "long_prompt" in data:
        values["long_prompt"] = _long_prompt(data["long_prompt"], where)
    return evolve(base, **values)


def _rates(data: Mapping[str, Any], where: str, table: str) -> dict[str, Any]:
    rates: dict[str, Any] = {}
    for key, attr in _RATE_KEYS.items():
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(
                    f"{where}: {table}.{key} must be a non-negative number (US dollars per "
                    f"million tokens), not {value!r}"
                )
            rates[attr] = float(value)
    return rates


def _long_prompt(data: Any, where: str) -> LongPromptPricing:
    """``pricing.long_prompt``: a threshold and the whole set of rates above it (given anew,
    never inherited from the ordinary rates, so a missing rate cannot silently be the cheap one).
    """
    key = "pricing.long_prompt"
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where}: {key} must be a table: over_tokens (the prompt length above which the "
            f"request pays these rates) and the rates {sorted(_RATE_KEYS)}"
        )
    unknown = sorted(set(data) - _LONG_PROMPT_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: {key} has unknown key(s) {unknown}; use {sorted(_LONG_PROMPT_KEYS)}"
        )
    missing = [k for k in ("over_tokens", "input", "output") if k not in data]
    if missing:
        raise ConfigError(
            f"{where}: {key} lacks {missing}; give over_tokens and at least the input and "
            "output rates of a request whose prompt is longer than over_tokens"
        )
    over = data["over_tokens"]
    if isinstance(over, bool) or not isinstance(over, int) or over <= 0:
        raise ConfigError(
            f"{where}: {key}.over_tokens must be a positive whole number of prompt tokens, "
            f"not {over!r}"
        )
    return LongPromptPricing(over_tokens=over, rates=evolve(Pricing(), **_rates(data, where, key)))


def _typed(value: Any, kind: type, where: str, key: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(f"{where}: {key} must be a {kind.__name__}, not {value!r}")
    return value


def _date(value: Any, where: str, key: str) -> dt.date:
    """A TOML date (``2024-09-30``) or a ``"YYYY-MM-DD"`` string (YAML, JSON, dicts)."""
    date = as_date(value)
    if date is not None:
        return date
    raise ConfigError(f"{where}: {key} must be a date (YYYY-MM-DD), not {value!r}")


def _strings(value: Any, where: str, key: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return list(value)


def _load_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=source) from exc


BUILTIN_CARD_FILES = ("openai/model_cards.toml", "anthropic/model_cards.toml")
"""The built-in cards, one file per provider (inside ``lllm_adapters``), in one catalog: a
model name picks its provider (the card's ``provider``) wherever a model is chosen."""


@cache
def _builtin() -> ModelCatalog:
    # Read through the parent package, so the Anthropic cards load without importing the
    # anthropic adapter (or needing its extra).
    files = resources.files("lllm_adapters")
    merged: dict[str, Any] = {"arg_sets": {}, "models": {}}
    for name in BUILTIN_CARD_FILES:
        data = _load_toml(files.joinpath(name).read_text("utf-8"), name)
        merged.setdefault("as_of", data.get("as_of"))
        merged["arg_sets"].update(data.get("arg_sets") or {})
        merged["models"].update(data.get("models") or {})
    return ModelCatalog.from_data(merged, source="model_cards.toml")
