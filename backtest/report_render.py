"""The backtest report's text as Markdown and as one self-contained HTML page (plots inlined,
readable on a phone: a viewport, images at most the page's width, tables that scroll
sideways inside their own box)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    title: str
    text: list[str] = field(default_factory=list)
    tables: list[tuple[str, Table]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (file name, caption)


STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:0.6em;line-height:1.4}"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin-bottom:1em}"
    "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;white-space:nowrap}"
    "img{max-width:100%;height:auto}figure{margin:0 0 1em 0}.summary{font-size:15px}"
)


def markdown(title: str, secs: list[Section], summary: str = "") -> str:
    lines = [f"# {title}", ""] + ([summary, ""] if summary else [])
    for s in secs:
        lines += [f"## {s.title}", ""]
        for p in s.text:
            lines += [p, ""]
        for caption, t in s.tables:
            lines += [f"**{caption}**", "", "| " + " | ".join(t.header) + " |", "|" + "---|" * len(t.header)]
            lines += ["| " + " | ".join(r) + " |" for r in t.rows]
            lines.append("")
        for name, caption in s.images:
            lines += [f"![{caption}]({name})", ""]
    return "\n".join(lines)


def page(title: str, summary: str, secs: list[Section], folder: Path) -> str:
    """The HTML report: the summary paragraph first, then every section."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<link rel='icon' href='data:,'>",  # self-contained: no request for /favicon.ico
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p class='summary' id='summary'>{e(summary)}</p>",
    ]
    for s in secs:
        parts.append(f"<h2>{e(s.title)}</h2>")
        parts += [f"<p>{e(p)}</p>" for p in s.text]
        for caption, t in s.tables:
            parts.append(
                f"<p><b>{e(caption)}</b></p><div class='scroll'><table><tr>"
                + "".join(f"<th>{e(c)}</th>" for c in t.header)
                + "</tr>"
            )
            parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in t.rows]
            parts.append("</table></div>")
        for name, caption in s.images:
            data = base64.b64encode((folder / name).read_bytes()).decode("ascii")
            parts.append(
                f"<figure><img alt='{e(caption)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{e(caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)
