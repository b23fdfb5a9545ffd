"""A sample proxy: a declarative description of an external HTTP API.

It is registered by discovery (see `lllm proxies list`) but not activated in the default
config. Activate it with `activate_proxies: [weather/open_meteo]`, then agents can call its
endpoints as tools and prompts can include its documentation.
"""

from typing import Any

from lllm_domain.proxy import Proxy, endpoint


class OpenMeteo(Proxy):
    """Weather forecasts from open-meteo.com (no API key needed)."""

    path = "weather/open_meteo"
    base_url = "https://api.open-meteo.com/v1"
    description = "Free weather forecasts by latitude and longitude."

    @endpoint(
        "forecast",
        "daily",
        "Daily maximum temperature (°C) for a location.",
        params={
            "latitude*": (float, 48.85, "Latitude in degrees"),
            "longitude*": (float, 2.35, "Longitude in degrees"),
        },
        response={"daily": {"time": ["2024-01-01"], "temperature_2m_max": [7.5]}},
        path="forecast",
    )
    def daily(self, params: dict[str, Any]) -> dict[str, Any]:
        """Ask for the daily maximum temperature."""
        return {**params, "daily": "temperature_2m_max", "timezone": "UTC"}
