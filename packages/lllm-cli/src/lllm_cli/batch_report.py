"""A batch as one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched):
status counts, the latency distribution, cost and tokens per agent and per row, and errors by
type with example rows whose session timelines are embedded in the page and linked."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from html import escape
from pathlib import Path

from lllm_domain.batch import BatchSummary, RowResult
from lllm_domain.ports import LogStore

ROWS_SHOWN = 50
"""Rows listed in the per-row table (the costliest ones)."""

EXAMPLES_PER_ERROR = 3
"""Example rows shown (with their timelines) per error type."""

_CSS = """
h2 { margin: 28px 0 10px; font-size: 17px; }
table { border-collapse: collapse; background: #fff; border: 1px solid #dde1e8; width: 100%; }
th, td { padding: 5px 10px; border-bottom: 1px solid #eceef3; text-align: left;
         font-size: 13.5px; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #1f8a55; } .failed { color: #c23030; }
svg.hist rect { fill: #2f6fde; } svg.hist text { font-size: 11px; fill: #5d6679; }
details.session { margin: 10px 0; background: #fff; border: 1px solid #dde1e8;
                  border-radius: 8px; padding: 8px 12px; }
details.session summary { cursor: pointer; font-weight: 600; }
"""


def _histogram(latencies: Sequence[float], bins: int = 20) -> str:
    """An inline SVG bar chart of the latency distribution."""
    if not latencies:
        return "<p>no rows yet</p>"
    low, high = min(latencies), max(latencies)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in latencies:
        counts[min(bins - 1, int((value - low) / width))] += 1
    top = max(counts)
    bar_w, height = 36, 160
    bars = []
    for i, count in enumerate(counts):
        h = round(height * count / top) if top else 0
        x = i * bar_w
        bars.append(
            f'<rect x="{x + 2}" y="{height - h}" width="{bar_w - 4}" height="{h}">'
            f"<title>{low + i * width:.2f}–{low + (i + 1) * width:.2f} s: {count} rows</title>"
            "</rect>"
        )
    axis = (
        f'<text x="0" y="{height + 14}">{low:.2f} s</text>'
        f'<text x="{bins * bar_w}" y="{height + 14}" text-anchor="end">{high:.2f} s</text>'
    )
    return (
        f'<svg class="hist" role="img" aria-label="latency distribution" width="{bins * bar_w}"'
        f' height="{height + 20}">{"".join(bars)}{axis}</svg>'
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _anchor(index: int) -> str:
    return f"session-{index}"


def render_report(
    batch: str,
    results: Sequence[RowResult],
    *,
    total: int | None,
    timelines: dict[str, str],
) -> str:
    """The page. ``timelines`` maps a session to its timeline's ``<li>`` items (example rows)."""
    from lllm_cli.html_timeline import TIMELINE_CSS

    summary = BatchSummary.of(results, pending=max(0, (total or 0) - len(results)))
    anchors = {session: _anchor(i) for i, session in enumerate(timelines)}

    def link(result: RowResult) -> str:
        anchor = anchors.get(result.session)
        key = escape(result.key)
        return f'<a href="#{anchor}">{key}</a>' if anchor else key

    figures = [
        ("rows", str(total if total is not None else summary.rows)),
        ("ok", str(summary.ok)),
        ("failed", str(summary.failed)),
        ("not run", str(summary.pending)),
        ("cost", f"${summary.cost_usd:.6f}"),
        ("tokens", str(summary.usage.total_tokens)),
        ("p50 latency", f"{summary.p50_latency:.3f} s"),
        ("p95 latency", f"{summary.p95_latency:.3f} s"),
    ]
    boxes = "".join(f"<div>{escape(k)}<b>{escape(v)}</b></div>" for k, v in figures)

    per_agent: dict[str, list[RowResult]] = defaultdict(list)
    for result in results:
        per_agent[result.agent or "?"].append(result)
    agent_rows = [
        [
            escape(name),
            str(len(rs)),
            str(sum(r.ok for r in rs)),
            str(sum(r.usage.input_tokens for r in rs)),
            str(sum(r.usage.output_tokens for r in rs)),
            f"${sum(r.cost_usd for r in rs):.6f}",
        ]
        for name, rs in sorted(per_agent.items())
    ]
    costly = sorted(results, key=lambda r: (-r.cost_usd, r.key))[:ROWS_SHOWN]
    row_rows = [
        [
            link(r),
            f'<span class="{r.status.value}">{r.status.value}</span>',
            str(r.usage.input_tokens),
            str(r.usage.output_tokens),
            f"${r.cost_usd:.6f}",
            f"{r.latency:.3f} s",
        ]
        for r in costly
    ]
    errors: Counter[str] = Counter(r.error_type or "Error" for r in results if not r.ok)
    error_parts = []
    for kind, count in errors.most_common():
        examples = [r for r in results if not r.ok and (r.error_type or "Error") == kind]
        items = "".join(
            f"<li>{link(r)}: {escape((r.error_message or '')[:300])}</li>"
            for r in examples[:EXAMPLES_PER_ERROR]
        )
        error_parts.append(f"<h3>{escape(kind)} · {count} rows</h3><ul>{items}</ul>")
    sessions = "".join(
        f'<details class="session" id="{anchors[session]}" open><summary>session '
        f'{escape(session)}</summary><ol class="timeline">{items}</ol></details>'
        for session, items in timelines.items()
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>LLLM batch {escape(batch)}</title>"
        f"<style>{TIMELINE_CSS}{_CSS}</style></head><body>"
        f"<header><h1>LLLM batch {escape(batch)}</h1>"
        f"<p>{summary.rows} rows recorded · {summary.ok} ok · {summary.failed} failed</p>"
        f'</header><main><section class="summary">{boxes}</section>'
        f"<h2>Latency distribution</h2>{_histogram([r.latency for r in results])}"
        "<h2>Cost and tokens per agent</h2>"
        + _table(
            ["agent", "rows", "ok", "input tokens", "output tokens", "cost"],
            agent_rows,
            {1, 2, 3, 4, 5},
        )
        + f"<h2>Cost and tokens per row ({len(costly)} costliest of {len(results)})</h2>"
        + _table(
            ["row", "status", "input tokens", "output tokens", "cost", "latency"],
            row_rows,
            {2, 3, 4, 5},
        )
        + "<h2>Errors by type</h2>"
        + ("".join(error_parts) or "<p>no failed rows</p>")
        + ("<h2>Example sessions</h2>" + sessions if sessions else "")
        + "</main></body></html>\n"
    )


def write_report(store: LogStore, batch: str, target: Path) -> None:
    """Read the batch from ``store`` and write its page to ``target``."""
    from lllm_domain.replay import ReplaySession

    from lllm_cli.batch import batch_results
    from lllm_cli.html_timeline import timeline_items
    from lllm_cli.transcript import transcript_entries

    run, results = batch_results(store, batch)
    total = run.get("rows")
    timelines: dict[str, str] = {}
    by_type: dict[str, int] = Counter()
    for result in results:
        if result.ok:
            continue
        kind = result.error_type or "Error"
        if by_type[kind] >= EXAMPLES_PER_ERROR or not result.session:
            continue
        by_type[kind] += 1
        entries = transcript_entries(ReplaySession(store, result.session).activities())
        timelines[result.session] = timeline_items(entries)
    page = render_report(
        batch, results, total=total if isinstance(total, int) else None, timelines=timelines
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
