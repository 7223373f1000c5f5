"""The page shell shared by the run report and the study page: inline CSS, escaping, highlighting.

Every piece of user text goes through :func:`esc` or :func:`highlight` (rows hold ``<``, ``&``
and LaTeX); charts are inline SVG. The page loads nothing: no script, font, style or image URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape

#: Longest text shown for one field of one row: rows can be megabytes; a report shows a window.
MAX_TEXT = 1500

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#24292f;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header .meta{opacity:.8;font-size:12px}
main{max-width:1180px;margin:0 auto;padding:8px 24px 40px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;margin:16px 0;padding:10px 18px}
h2{font-size:17px;margin:6px 0 10px}h3{font-size:14px;margin:14px 0 6px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}.warn{color:#9a6700;font-weight:600}
.note{color:#555;font-style:italic}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;border:1px solid #e1e4e8;
border-radius:4px;padding:6px 8px;margin:4px 0;font-size:12.5px;max-height:22em;overflow:auto}
mark{background:#fff0a8;border-bottom:2px solid #d4a72c;padding:0 1px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:10px}
.pair>div{min-width:0}.card{border:1px solid #e1e4e8;border-radius:6px;padding:6px 10px;margin:10px 0}
.kv{font-size:12px;color:#444}.kv b{color:#222}
svg.chart{max-width:100%;height:auto;display:block;margin:6px 0}
nav a{margin-right:12px;color:#0969da;text-decoration:none;font-size:13px}
"""


def esc(value: object) -> str:
    """User text (or any value) as HTML text."""
    return escape(str(value), quote=True)


def page(title: str, meta: str, nav: Sequence[tuple[str, str]], sections: Iterable[str]) -> str:
    """A complete self-contained HTML document."""
    links = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in nav)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{esc(title)}</h1><div class="meta">{meta}</div></header>'
        f"<main><nav>{links}</nav>{''.join(sections)}</main></body></html>\n"
    )


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>'


def table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    """A table of escaped cells; columns in ``numeric`` are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{esc(v)}</td>' if i in numeric else f"<td>{esc(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def status(value: str) -> str:
    """A pass/fail/warn word, coloured."""
    cls = value.lower() if value.lower() in ("pass", "fail", "warn") else ""
    return f'<span class="{cls}">{esc(value.upper())}</span>'


def merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping, non-empty spans."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def highlight(text: str, spans: Iterable[tuple[int, int]] = (), limit: int = MAX_TEXT) -> str:
    """``text`` escaped in a ``<pre>``, each span in ``<mark>``; long text cut to a window at the first span."""
    marks = merge(spans)
    start = 0
    if len(text) > limit:
        first = marks[0][0] if marks else 0
        start = max(0, min(first - limit // 3, len(text) - limit))
    end = min(len(text), start + limit)
    parts = ["…" if start else ""]
    at = start
    for s, e in marks:
        s, e = max(s, start), min(e, end)
        if s >= e or s < at:
            continue
        parts += [esc(text[at:s]), f"<mark>{esc(text[s:e])}</mark>"]
        at = e
    parts += [esc(text[at:end]), "…" if end < len(text) else ""]
    return f"<pre>{''.join(parts)}</pre>"


def phrase_spans(text: str, phrases: Iterable[str], lowercase: bool) -> list[tuple[int, int]]:
    """Where each phrase occurs in ``text`` (case-folded like the rule when ``lowercase``)."""
    hay = text.lower() if lowercase else text
    spans = []
    for phrase in phrases:
        needle = phrase.lower() if lowercase else phrase
        spans += [(m.start(), m.start() + len(needle)) for m in re.finditer(re.escape(needle), hay)]
    return spans


def regex_spans(text: str, patterns: Iterable[str], ignorecase: bool) -> list[tuple[int, int]]:
    """The first match span of each pattern (Python ``re.search``, as the rule's contract says)."""
    flags = re.IGNORECASE if ignorecase else 0
    spans = []
    for pattern in patterns:
        try:
            found = re.search(pattern, text, flags)
        except re.error:
            continue  # a pattern only the rule's own engine reads: show the row without a mark
        if found:
            spans.append(found.span())
    return spans


def shared_word_spans(text: str, other: str, n: int = 4) -> list[tuple[int, int]]:
    """Spans of ``text`` covered by word n-grams that also occur in ``other`` (case-insensitive).

    What a reader needs to see in a contamination pair: the stretches the two texts share.
    """
    words = [(m.start(), m.end(), m.group().lower()) for m in re.finditer(r"\S+", text)]
    theirs = [w.lower() for w in other.split()]
    if len(theirs) < n or len(words) < n:
        return [(words[0][0], words[-1][1])] if words and [w[2] for w in words] == theirs else []
    grams = {tuple(theirs[i : i + n]) for i in range(len(theirs) - n + 1)}
    spans = []
    for i in range(len(words) - n + 1):
        if tuple(w[2] for w in words[i : i + n]) in grams:
            spans.append((words[i][0], words[i + n - 1][1]))
    return merge(spans)


def number_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the numbers in ``text`` (for number-changed contamination pairs)."""
    return [m.span() for m in re.finditer(r"\d+(?:[.,]\d+)*", text)]
