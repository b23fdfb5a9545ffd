"""A local web page with a search form, served on 127.0.0.1 for the browser tests.

``/`` has one text field (``#q``) at a fixed place and a link to a host no browser test may
open; submitting the form (Enter in the field) leads to ``/result?q=...``, which shows
``You searched: <q>`` in large type (large enough for OCR).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

FIELD_CENTRE = (240, 65)
"""Where the search field is on the page (viewport pixels)."""
LINK_CENTRE = (80, 320)
"""Where the link to a refused host is."""
BLOCKED_URL = "http://blocked.example/"

_STYLE = """
body { margin: 0; font: 32px sans-serif; background: #fff; color: #000; }
#q { position: absolute; left: 40px; top: 40px; width: 400px; height: 50px;
     font: 32px sans-serif; }
#away { position: absolute; left: 40px; top: 300px; }
#out { position: absolute; left: 40px; top: 140px; margin: 0; font-size: 40px; }
"""

# The empty icon keeps the browser from asking for /favicon.ico.
_HEAD = '<link rel="icon" href="data:,">'

FORM = f"""<!DOCTYPE html><html><head><title>Search</title>{_HEAD}<style>{_STYLE}</style></head>
<body><form action="/result" method="get"><input id="q" name="q" autocomplete="off"></form>
<a id="away" href="{BLOCKED_URL}">away</a></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/":
            body = FORM
        elif parts.path == "/result":
            query = parse_qs(parts.query).get("q", [""])[0]
            body = (
                f"<!DOCTYPE html><html><head><title>Result</title>{_HEAD}<style>{_STYLE}</style>"
                f'</head><body><p id="out">You searched: {escape(query)}</p></body></html>'
            )
        else:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def form_page() -> Iterator[str]:
    """Serve the page; yields its URL (``http://127.0.0.1:<port>/``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
