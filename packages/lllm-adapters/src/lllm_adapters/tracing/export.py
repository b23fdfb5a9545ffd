"""Where spans go: an OpenTelemetry SDK tracer provider exporting with OTLP/HTTP.

Everything is read from the standard ``OTEL_*`` environment variables, as every OpenTelemetry
SDK does: ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (default
``http://localhost:4318``), ``OTEL_EXPORTER_OTLP_HEADERS`` (e.g. a backend's API key),
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``, the batch processor's ``OTEL_BSP_*``.
``OTEL_SDK_DISABLED=true`` turns tracing off. Only the ``http/protobuf`` protocol is built in.

By default the provider is a :class:`~lllm_adapters.tracing.light.LightTracerProvider`: its spans
record plain values and a child process (:mod:`lllm_adapters.tracing.relay`) encodes and sends
them, so tracing hardly competes with the agent calls for the interpreter lock.
``LLLM_OTEL_RELAY=0`` gives the SDK's own ``TracerProvider`` with a batch processor exporting from
a thread of this process instead.

Needs the ``otel`` extra: ``pip install "lllm-adapters[otel]"``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from lllm_domain.errors import ConfigError

from lllm_adapters.extras import requires_extra

with requires_extra("otel", __name__):
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

if TYPE_CHECKING:
    from lllm_adapters.tracing.light import LightTracerProvider

DEFAULT_SERVICE_NAME = "lllm"
"""The ``service.name`` of LLLM's spans when ``OTEL_SERVICE_NAME`` does not name one."""


def sdk_disabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``OTEL_SDK_DISABLED`` turns the SDK off."""
    env = os.environ if environ is None else environ
    return env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


RELAY_VARIABLE = "LLLM_OTEL_RELAY"
"""The variable that chooses where spans are encoded and sent: ``1`` (the default) in a child
process, ``0`` in a thread of this process."""


def relay_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``LLLM_OTEL_RELAY`` leaves the export to a child process (the default)."""
    env = os.environ if environ is None else environ
    value = env.get(RELAY_VARIABLE, "").strip().lower()
    if value in ("", "1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(
        f"{RELAY_VARIABLE}={value!r}: set it to 1 (export spans from a child process, the "
        "default) or 0 (export them from a thread of this process)"
    )


def otlp_tracer_provider(
    environ: Mapping[str, str] | None = None,
    *,
    service_name: str = DEFAULT_SERVICE_NAME,
    relay: bool | None = None,
) -> TracerProvider | LightTracerProvider:
    """A tracer provider that batches spans to an OTLP/HTTP endpoint configured by the
    ``OTEL_*`` variables of ``environ`` (the process environment if omitted; the exporter
    itself reads the process environment). Shut it down (``provider.shutdown()``) at the end of
    the run: that sends the spans still queued.

    ``relay`` (default: as ``LLLM_OTEL_RELAY`` says, on when unset) gives a
    :class:`~lllm_adapters.tracing.light.LightTracerProvider` exporting from a child process;
    when false, the SDK's ``TracerProvider`` exporting from a thread of this process.
    """
    env = os.environ if environ is None else environ
    use_relay = relay_enabled(env) if relay is None else relay
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = env.get(name, "").strip()
        if protocol:
            if protocol != "http/protobuf":
                raise ConfigError(
                    f"{name}={protocol!r}: LLLM exports traces with OTLP over HTTP only; set "
                    f"{name}=http/protobuf (and an endpoint on port 4318) or unset it"
                )
            break
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    if use_relay:
        from lllm_adapters.tracing.light import LightTracerProvider

        return LightTracerProvider(Resource.create(attributes), environ=env)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider
