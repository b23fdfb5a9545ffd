"""A knowledge proxy with an API key passed in a header (read from the environment)."""

from typing import Any

from lllm_domain.proxy import ApiKey, Proxy, endpoint, post_call


class Wikipedia(Proxy):
    """Page summaries from Wikipedia's REST API."""

    path = "knowledge/wikipedia"
    base_url = "https://en.wikipedia.org/api/rest_v1"
    # Wikipedia needs no key; this shows how a keyed API declares one (the value comes from the
    # environment variable, never from code or config).
    api_key = ApiKey.header("Api-User-Agent", env="WIKIPEDIA_CONTACT")
    description = "Short summaries of Wikipedia pages."

    @endpoint(
        "pages",
        "summary",
        "A short summary of a Wikipedia page.",
        params={"title*": (str, "Python_(programming_language)", "Page title")},
        response={"title": "Python", "extract": "Python is a programming language."},
        path="page/summary/{title}",
    )
    def summary(self, params: dict[str, Any]) -> None:
        """Send the parameters unchanged."""

    @post_call("pages/summary")
    def keep_text(self, response: Any, params: Any) -> Any:
        """Keep only the fields an agent needs."""
        return {"title": response.get("title"), "extract": response.get("extract")}
