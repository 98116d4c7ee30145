"""A self-contained HTML page for moderators: who is harassed, by whom, since when."""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import BatchSummary

TOP = 15

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{background:#f5f5f7;border-radius:8px;padding:.7rem 1rem}
.card b{display:block;font-size:1.4rem}mark{background:#ffd2cc;padding:0 .1em;border-radius:3px}
.example{border-left:4px solid #d33;padding:.4rem .8rem;margin:.6rem 0;background:#fafafa}
.meta{color:#666;font-size:.85rem}.terms{font-size:.85rem;color:#444}
.bar{display:inline-block;height:.7rem;background:#d33;vertical-align:middle}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int]) -> str:
    if not rows:
        return "<p class=meta>None.</p>"
    head = "".join(
        f"<th class={'n' if i in numeric else 'l'}>{_e(h)}</th>" for i, h in enumerate(headers)
    )
    body = []
    for r in rows:
        cells = []
        for i, v in enumerate(r):
            cls = "n" if i in numeric else "l"
            cells.append(f"<td class={cls}>{v if isinstance(v, _Raw) else _e(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw(str):
    """Already-escaped HTML."""


def highlight(text: str, spans: list[list[Any]]) -> str:
    """`text` escaped, with the explanation spans wrapped in <mark>."""
    marks = sorted((int(s), int(e)) for _t, s, e, _w in spans if 0 <= int(s) < int(e) <= len(text))
    out, pos = [], 0
    for s, e in marks:
        if s < pos:
            continue
        out.append(html.escape(text[pos:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _plot(day_total: dict[str, int], day_flagged: dict[str, int]) -> str:
    """Flagged messages per day as an inline SVG (empty string if there are no dates)."""
    days = sorted(day_total)
    if not days:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    from datetime import date

    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    xs = [date.fromisoformat(d) for d in days]
    ys = [day_flagged.get(d, 0) for d in days]
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.bar(xs, ys, color="#d33", width=1.0)
    ax.set_ylabel("flagged messages")
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def render_report(summary: BatchSummary, model: Any = None) -> str:
    """The report page as a string."""
    st = summary.stats
    skipped = sum(summary.skipped.values())
    rate = st.flagged / st.scored if st.scored else 0.0
    cards = [
        ("messages read", f"{summary.read:,}"),
        ("scored", f"{st.scored:,}"),
        ("skipped (system/empty)", f"{skipped:,}"),
        ("bad input rows", f"{summary.errors:,}"),
        ("flagged", f"{st.flagged:,} ({rate:.1%})"),
    ]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>harassflag batch report</title><style>{_CSS}</style></head><body>",
        "<h1>harassflag batch report</h1>",
        f"<p class=meta>Inputs: {_e(', '.join(f'{p} ({f})' for p, f in summary.formats))}"
        + (
            f" · model {_e(getattr(model, 'name', ''))} {_e(getattr(model, 'version', ''))} sha256 {_e(str(getattr(model, 'sha256', ''))[:12])}"
            if model is not None
            else ""
        )
        + "</p>",
        "<div class=cards>"
        + "".join(f"<div class=card><b>{_e(v)}</b>{_e(k)}</div>" for k, v in cards)
        + "</div>",
    ]
    if summary.skipped:
        parts.append(
            "<p class=meta>Skipped: "
            + _e(", ".join(f"{k}: {v:,}" for k, v in sorted(summary.skipped.items())))
            + "</p>"
        )

    parts.append("<h2>Flagged rate per channel</h2>")
    chans = sorted(st.channel_total, key=lambda c: (-st.channel_flagged.get(c, 0), c))[: TOP * 2]
    maxrate = (
        max((st.channel_flagged.get(c, 0) / st.channel_total[c] for c in chans), default=0) or 1
    )
    parts.append(
        _table(
            ["channel", "messages", "flagged", "rate", ""],
            [
                [
                    c or "(none)",
                    f"{st.channel_total[c]:,}",
                    f"{st.channel_flagged.get(c, 0):,}",
                    f"{st.channel_flagged.get(c, 0) / st.channel_total[c]:.1%}",
                    _Raw(
                        f"<span class=bar style='width:{120 * (st.channel_flagged.get(c, 0) / st.channel_total[c]) / maxrate:.0f}px'></span>"
                    ),
                ]
                for c in chans
            ],
            {1, 2, 3},
        )
    )
    parts.append("<h2>Authors with the most flagged messages</h2>")
    authors = sorted(st.author_flagged, key=lambda a: (-st.author_flagged[a], a))[:TOP]
    parts.append(
        _table(
            ["author", "flagged", "of their messages"],
            [
                [
                    a or "(unknown)",
                    f"{st.author_flagged[a]:,}",
                    f"{st.author_flagged[a] / max(st.author_total.get(a, 1), 1):.1%}",
                ]
                for a in authors
            ],
            {1, 2},
        )
    )
    parts.append(
        "<h2>Who is targeted most</h2><p class=meta>From @mentions and replies in flagged messages.</p>"
    )
    targets = sorted(st.target_flagged, key=lambda t: (-st.target_flagged[t], t))[:TOP]
    parts.append(
        _table(
            ["target", "flagged messages aimed at them"],
            [[t, f"{st.target_flagged[t]:,}"] for t in targets],
            {1},
        )
    )

    parts.append("<h2>Flagged messages over time</h2>")
    if st.day_flagged:
        first = min(st.day_flagged)
        parts.append(
            f"<p class=meta>First flagged message: {_e(first)}; last: {_e(max(st.day_flagged))}.</p>"
        )
    svg = _plot(dict(st.day_total), dict(st.day_flagged))
    parts.append(svg or "<p class=meta>No message carried a date.</p>")

    parts.append("<h2>Top flagged messages</h2>")
    if not st.examples:
        parts.append("<p class=meta>None.</p>")
    for ex in st.examples:
        terms = ", ".join(f"{t} ({w:+.2f})" for t, _s, _e2, w in ex["spans"])
        body = (
            f"<div>{highlight(ex['text'], ex['spans'])}</div>"
            if ex.get("text") is not None
            else "<div class=meta>(text omitted: --no-text)</div>"
        )
        parts.append(
            "<div class=example>"
            f"<div class=meta>{_e(ex['head'])} {ex['score']:.3f} · {_e(ex['channel'])} · {_e(ex['author'])} · {_e(ex['timestamp'])} · id {_e(ex['id'])}</div>"
            f"{body}<div class=terms>{_e(terms)}</div></div>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(summary: BatchSummary, path: Path, model: Any = None) -> None:
    """Write the report page to `path`."""
    from .writer import atomic_write

    atomic_write(path, render_report(summary, model).encode("utf-8"))
