"""The Markdown that ``comparison.md`` is written in, as HTML, for the sweep's ``report.html``:
headings, paragraphs and pipe tables, with ``code``, **bold** and *emphasis* inside them. Only
what the tables here write (no lists, links or nesting), so that the report and the Markdown
say the same thing from one source."""

import html
import re

INLINE = [(re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
          (re.compile(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])"), r"<em>\1</em>")]


def inline(text: str) -> str:
    """One line's text, escaped, with its code, bold and emphasis as HTML; what is inside
    backticks is kept as written."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        escaped = html.escape(part, quote=False)
        for pattern, replacement in INLINE:
            escaped = pattern.sub(replacement, escaped)
        out.append(escaped)
    return "".join(out)


def _cells(line: str) -> list[str]:
    """A table row's cells; ``\\|`` is a bar inside a cell."""
    inner = line.strip()[1:-1] if line.strip().endswith("|") else line.strip()[1:]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def _table(lines: list[str]) -> str:
    head, body = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    rows = ["<thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + "</tr></thead>",
            "<tbody>"]
    rows += ["<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>" for row in body]
    return '<table class="sortable">\n' + "\n".join(rows) + "\n</tbody></table>"


def _is_separator(line: str) -> bool:
    return bool(re.fullmatch(r"\|?(\s*:?-{3,}:?\s*\|)+\s*:?(-{3,})?:?\s*\|?", line.strip()))


def to_html(markdown: str) -> str:
    """The HTML of ``markdown``'s blocks, one after the other."""
    lines, blocks, i = markdown.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif heading := re.match(r"(#{1,6}) (.*)", line):
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
            i += 1
        elif line.startswith("|") and i + 1 < len(lines) and _is_separator(lines[i + 1]):
            end = i + 2
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            blocks.append(_table(lines[i:end]))
            i = end
        else:
            end = i
            while end < len(lines) and lines[end].strip() and not lines[end].startswith(
                    ("#", "|")):
                end += 1
            end = max(end, i + 1)  # a lone line starting with a bar: a paragraph of its own
            blocks.append("<p>" + " ".join(inline(t) for t in lines[i:end]) + "</p>")
            i = end
    return "\n".join(blocks)
