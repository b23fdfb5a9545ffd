"""Tracing: agent calls as OpenTelemetry spans in the GenAI semantic conventions, exported
with OTLP.

:class:`OtelTracer` implements the domain's :class:`~lllm_domain.tracing.Tracer` port;
:func:`otlp_tracer_provider` builds the SDK provider from the ``OTEL_*`` environment variables
(by default a :class:`LightTracerProvider` whose spans a child process exports, unless
``LLLM_OTEL_RELAY=0``; :class:`RelaySpanExporter` gives an SDK provider the same child);
:func:`inject_trace_context` adds ``traceparent`` to outgoing HTTP headers (the proxy runtime's
``propagate`` hook). Needs the ``otel`` extra (``pip install "lllm-adapters[otel]"``); the names
are loaded on first use, which raises ``MissingExtraError`` without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lllm_adapters.tracing.export import otlp_tracer_provider, relay_enabled, sdk_disabled
    from lllm_adapters.tracing.light import LightTracerProvider
    from lllm_adapters.tracing.otel import OtelTracer, inject_trace_context
    from lllm_adapters.tracing.relay import RelaySpanExporter

_EXPORTS = {
    "OtelTracer": "lllm_adapters.tracing.otel",
    "inject_trace_context": "lllm_adapters.tracing.otel",
    "otlp_tracer_provider": "lllm_adapters.tracing.export",
    "relay_enabled": "lllm_adapters.tracing.export",
    "sdk_disabled": "lllm_adapters.tracing.export",
    "RelaySpanExporter": "lllm_adapters.tracing.relay",
    "LightTracerProvider": "lllm_adapters.tracing.light",
}

__all__ = [
    "LightTracerProvider",
    "OtelTracer",
    "RelaySpanExporter",
    "inject_trace_context",
    "otlp_tracer_provider",
    "relay_enabled",
    "sdk_disabled",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
