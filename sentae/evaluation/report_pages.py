"""A report as sections (a title, one line about it, figures, a table) rendered twice: ``index.md`` and a
self-contained static ``index.html`` whose images are referenced by relative path. Every sentence is escaped."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Sequence

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


@dataclass
class Section:
    title: str
    about: str  # one line: what the section shows and how it was made
    figures: list[str] = field(default_factory=list)  # file names beside index.md
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""  # why something is missing
    preformatted: str = ""  # a block of text shown as it is (the metrics table)


def anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def md_cell(text: str) -> str:
    """A table cell of markdown: HTML escaped (a sentence may hold ``<script>``), markdown syntax neutralised,
    newlines folded."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(" ".join(str(text).split()), quote=False))


def render_markdown(title: str, intro: Sequence[str], sections: Sequence[Section]) -> str:
    lines = [f"# {md_cell(title)}", "", *intro, ""]
    lines += [f"- [{s.title}](#{anchor(s.title)}): {s.about}" for s in sections]
    for s in sections:
        lines += ["", f"## {s.title}", "", s.about, ""]
        if s.note:
            lines += [f"*{md_cell(s.note)}*", ""]
        if s.preformatted:
            lines += ["```text", s.preformatted, "```", ""]
        lines += [f"![{s.title}]({name})" for name in s.figures]
        if s.figures:
            lines.append("")
        if s.rows:
            lines.append("| " + " | ".join(md_cell(h) for h in s.header) + " |")
            lines.append("|" + "---|" * len(s.header))
            lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in s.rows]
    return "\n".join(lines).rstrip() + "\n"


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } img { max-width: 100%; } pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; }
.note { color: #666; font-style: italic; } .about { color: #444; }
"""


def _prose(text: str) -> str:
    """Escaped text whose `code spans` become <code> elements."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def render_html(title: str, intro: Sequence[str], sections: Sequence[Section]) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', f"<title>{e(title)}</title>",
           f"<style>{_STYLE}</style>", "</head>", "<body>", f"<h1>{e(title)}</h1>"]
    out += [f"<p>{_prose(line)}</p>" for line in intro]
    out.append("<ul>")
    out += [f'<li><a href="#{anchor(s.title)}">{e(s.title)}</a>: {_prose(s.about)}</li>' for s in sections]
    out.append("</ul>")
    for s in sections:
        out += [f'<h2 id="{anchor(s.title)}">{e(s.title)}</h2>', f'<p class="about">{_prose(s.about)}</p>']
        if s.note:
            out.append(f'<p class="note">{e(s.note)}</p>')
        if s.preformatted:
            out.append(f"<pre>{e(s.preformatted)}</pre>")
        out += [f'<p><img src="{e(name)}" alt="{e(s.title)}"></p>' for name in s.figures]
        if s.rows:
            out.append("<table>")
            out.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in s.header) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in s.rows]
            out.append("</table>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
