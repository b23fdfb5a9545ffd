"""A logged session as one self-contained HTML page: a timeline of the transcript.

The page has inline CSS and no scripts, fonts or images from elsewhere (screenshots of
computer use are inline ``data:`` images), so it opens from a file anywhere. Every piece of
logged text is HTML-escaped: model output is data, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from lllm_cli.transcript import Entry

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       background: #f6f7f9; color: #1d2330; }
header { background: #1d2330; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: #c5cbd8; }
main { max-width: 1000px; margin: 0 auto; padding: 20px 28px 40px; }
.summary { display: flex; gap: 24px; flex-wrap: wrap; margin-bottom: 18px; }
.summary div { background: #fff; border: 1px solid #dde1e8; border-radius: 8px;
               padding: 8px 14px; }
.summary b { display: block; font-size: 18px; }
ol.timeline { list-style: none; margin: 0; padding: 0 0 0 18px;
              border-left: 3px solid #cfd5e0; }
li.entry { position: relative; margin: 0 0 14px; background: #fff; border: 1px solid #dde1e8;
           border-radius: 8px; padding: 10px 14px; }
li.entry::before { content: ""; position: absolute; left: -27px; top: 14px; width: 13px;
                   height: 13px; border-radius: 50%; background: #8a94a8;
                   border: 2px solid #f6f7f9; }
li.role-assistant::before, li.role-tool_call::before { background: #2f6fde; }
li.role-user::before { background: #1f9d63; }
li.role-tool::before { background: #c78a10; }
li.role-system::before { background: #6b4fc8; }
li.kind-error::before { background: #d23c3c; }
li.kind-error { border-color: #e7a3a3; }
.head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.time { color: #7a8396; font-variant-numeric: tabular-nums; font-size: 13px; }
.who { font-weight: 600; }
.meta { color: #5d6679; font-size: 13px; }
pre { white-space: pre-wrap; word-wrap: break-word; margin: 8px 0 0; font: 13.5px/1.45
      ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background: #f3f5f8;
      padding: 8px 10px; border-radius: 6px; }
ul.details { margin: 8px 0 0; padding-left: 18px; font-size: 13.5px; }
ul.details li.retry { color: #a4421a; }
img.screenshot { display: block; max-width: 100%; margin: 8px 0 0; border: 1px solid #dde1e8;
                 border-radius: 6px; }
"""


def _detail_class(detail: str) -> str:
    if detail.startswith("↻") or detail.startswith("✗"):
        return ' class="retry"'
    return ""


def _entry_html(entry: Entry) -> str:
    parts = [
        f'<li class="entry kind-{escape(entry.kind)} role-{escape(entry.role)}">',
        '<div class="head">',
        f'<span class="time">{escape(entry.clock)}</span>',
        f'<span class="who">{escape(entry.title)}</span>',
    ]
    if entry.meta:
        parts.append(f'<span class="meta">{escape(" · ".join(entry.meta))}</span>')
    parts.append("</div>")
    if entry.body.strip():
        parts.append(f"<pre>{escape(entry.body.strip())}</pre>")
    if entry.image:
        parts.append(f'<img class="screenshot" alt="screenshot" src="{escape(entry.image)}">')
    if entry.details:
        items = "".join(f"<li{_detail_class(d)}>{escape(d)}</li>" for d in entry.details)
        parts.append(f'<ul class="details">{items}</ul>')
    parts.append("</li>")
    return "".join(parts)


TIMELINE_CSS = _CSS
"""The page's style sheet (a batch report embeds timelines with the same look)."""


def timeline_items(entries: Sequence[Entry]) -> str:
    """The ``<li>`` items of a timeline (for an ``<ol class="timeline">``)."""
    return "\n".join(_entry_html(e) for e in entries)


def render_html(
    session: str, entries: Sequence[Entry], *, summary: Sequence[tuple[str, str]] = ()
) -> str:
    """The page for ``session``: a header, summary figures (label, value) and the timeline."""
    figures = "".join(
        f"<div>{escape(label)}<b>{escape(value)}</b></div>" for label, value in summary
    )
    timeline = timeline_items(entries)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>LLLM session {escape(session)}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<header><h1>LLLM session {escape(session)}</h1>"
        f"<p>{len(entries)} events, in time order (UTC)</p></header>"
        f'<main><section class="summary">{figures}</section>'
        f'<ol class="timeline">\n{timeline}\n</ol></main></body></html>\n'
    )
