"""Documentation of proxies for prompts: endpoint directory, API catalog, API directory and
full docs of chosen endpoints. Pure text rendering over a :class:`~lllm_domain.proxy.ProxyCatalog`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lllm_domain.proxy.catalog import ProxyCatalog
from lllm_domain.proxy.cutoff import remove_response_keys
from lllm_domain.proxy.declaration import EndpointSpec


def endpoint_directory(catalog: ProxyCatalog) -> str:
    """One line per endpoint: ``- proxy/category/endpoint: description``."""
    lines = []
    for proxy_path, proxy in catalog.proxies.items():
        for key, spec in proxy.endpoints().items():
            lines.append(f"- {proxy_path}/{key}: {spec.description}")
    return "\n".join(lines)


def api_catalog(catalog: ProxyCatalog) -> str:
    """One entry per proxy: its path, name, description and categories with endpoint counts
    (and their sub-categories, when endpoints declare them)."""
    blocks = []
    for proxy_path, proxy in catalog.proxies.items():
        counts: dict[str, int] = {}
        subs: dict[str, dict[str, int]] = {}
        for spec in proxy.endpoints().values():
            counts[spec.category] = counts.get(spec.category, 0) + 1
            if spec.sub_category:
                inner = subs.setdefault(spec.category, {})
                inner[spec.sub_category] = inner.get(spec.sub_category, 0) + 1
        cats = ", ".join(f"{c} ({n}{_sub_counts(subs.get(c))})" for c, n in counts.items())
        cats = cats or "no endpoints"
        head = f"## {proxy_path} — {proxy.display_name()}"
        body = [head]
        if proxy.description:
            body.append(proxy.description.strip())
        body.append(f"Categories: {cats}")
        blocks.append("\n".join(body))
    return "\n\n".join(blocks)


def _sub_counts(subs: dict[str, int] | None) -> str:
    if not subs:
        return ""
    return ": " + ", ".join(f"{s} {n}" for s, n in subs.items())


def api_directory(catalog: ProxyCatalog) -> str:
    """Every proxy, category (and sub-category) and endpoint with its description and
    parameter names (required ones marked ``*``)."""
    blocks = []
    for proxy_path, proxy in catalog.proxies.items():
        lines = [f"## {proxy_path} — {proxy.display_name()}"]
        # Categories in declaration order; within each, its sub-categories in that order.
        groups: dict[str, dict[str, list[EndpointSpec]]] = {}
        for spec in proxy.endpoints().values():
            groups.setdefault(spec.category, {}).setdefault(spec.sub_category, []).append(spec)
        for category, by_sub in groups.items():
            lines.append(f"### {category}")
            for sub_category, specs in by_sub.items():
                if sub_category:
                    lines.append(f"#### {category}/{sub_category}")
                _endpoint_lines(lines, proxy_path, specs)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _endpoint_lines(lines: list[str], proxy_path: str, specs: list[EndpointSpec]) -> None:
    for spec in specs:
        params = ", ".join(p.name + ("*" if p.required else "") for p in spec.params)
        lines.append(
            f"- {proxy_path}/{spec.key} ({spec.method}): {spec.description}"
            + (f" Params: {params}." if params else "")
        )


def endpoint_docs(
    catalog: ProxyCatalog, paths: Sequence[str] | None = None, *, max_example_chars: int = 800
) -> str:
    """Full documentation of ``paths`` (all endpoints when ``None``): method, description,
    each parameter's type, whether it is required and its example, and an example response."""
    chosen = list(paths) if paths is not None else catalog.paths()
    blocks = []
    for path in chosen:
        resolved = catalog.resolve(path)
        spec = resolved.spec
        lines = [f"### {resolved.path}", f"{spec.method} — {spec.description}"]
        group = f"{spec.category} / {spec.sub_category}" if spec.sub_category else spec.category
        lines.append(f"Category: {group}")
        if spec.params:
            lines.append("Parameters:")
            for p in spec.params:
                flag = "required" if p.required else "optional"
                extra = f" — {p.description}" if p.description else ""
                example = f", e.g. {p.example!r}" if p.example is not None else ""
                lines.append(f"- {p.name} ({p.type}, {flag}{example}){extra}")
        else:
            lines.append("Parameters: none")
        if spec.date_field is not None:
            lines.append(
                f"Dated by {spec.date_field.path!r}: only results dated before the current date "
                "are shown."
            )
        if spec.response is not None:
            lines.append("Example response:")
            # The example shows what a call returns: without the keys the endpoint removes.
            example = remove_response_keys(spec.response, spec.remove_keys)
            lines.append(_example(example, max_example_chars))
        blocks.append("\n".join(lines))
    notes = []
    seen = {catalog.resolve(p).proxy_path for p in chosen}
    for proxy_path in seen:
        for title, text in catalog.proxies[proxy_path].notes.items():
            notes.append(f"### {proxy_path}: {title}\n{text.strip()}")
    return "\n\n".join(blocks + sorted(notes))


def _example(value: Any, limit: int) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[:limit] + "\n... (truncated)"
    return text
