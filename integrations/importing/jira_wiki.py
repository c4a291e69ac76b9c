"""Jira wiki markup (what Jira's CSV export writes for rich text) → CommonMark with GitHub tables.

Covers what teams write: headings, nested `*`/`#` lists, `{code}`/`{noformat}`, `{quote}`, `bq.`,
`{panel}`, tables, `----`, `\\\\` line breaks, *bold*, _italic_, -strike-, {{monospace}}, links,
mentions and attachments. Anything else stays as written; nothing raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.translation import gettext as _

_BLOCK = re.compile(r"\{(code|noformat)(?::([^}]*))?\}(.*?)\{\1\}", re.S)
_QUOTE = re.compile(r"\{(quote|panel)(?::([^}]*))?\}(.*?)\{\1\}", re.S)
_HEADING = re.compile(r"^h([1-6])\.\s+(.*)$")
_LIST = re.compile(r"^([*#]+|-)\s+(.*)$")
_MONO = re.compile(r"\{\{(.+?)\}\}")
_LINK = re.compile(r"\[([^\[\]|]*?)\|?([^\[\]|]*)\]")
_IMAGE = re.compile(r"!([^!\s|][^!|\n]*?)(?:\|[^!\n]*)?!")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w-])-(?=[^\s-])(.+?)(?<=[^\s-])-(?![\w-])")
_UNDERLINE = re.compile(r"(?<![\w+])\+(?=\S)(.+?)(?<=\S)\+(?![\w+])")
_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_DROPPED = re.compile(r"\{color(?::[^}]*)?\}|\{anchor:[^}]*\}")
_SLOT = "\x00{}\x00"
Keep = Callable[[str], str]  # stores finished Markdown, returns a slot later passes leave alone


def to_markdown(text: str) -> str:
    slots: list[str] = []

    def keep(markdown: str) -> str:
        slots.append(markdown)
        return _SLOT.format(len(slots) - 1)

    text = text.replace("\r\n", "\n").replace("\x00", "")
    text = _BLOCK.sub(lambda m: "\n" + keep(_fence(m[3], m[1], m[2] or "")) + "\n", text)
    text = _QUOTE.sub(lambda m: "\n" + keep(_quote(m[3], m[1], m[2] or "")) + "\n", text)
    markdown = _blocks(text, keep)
    for _round in range(2):  # a quote holds slots of its own
        markdown = re.sub("\x00(\\d+)\x00", lambda m: slots[int(m[1])], markdown)
    return re.sub(r"\n{3,}", "\n\n", markdown).strip("\n")


def _fence(code: str, kind: str, params: str) -> str:
    language = ""
    if kind == "code":
        first = params.split("|", 1)[0]
        language = first if "=" not in first else ""
        language = re.sub(r"[^\w+#.-]", "", language or _param(params, "language"))
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.strip(chr(10))}\n{fence}"


def _param(params: str, name: str) -> str:
    for pair in params.split("|"):
        key, _sep, value = pair.partition("=")
        if key.strip() == name:
            return value.strip()
    return ""


def _quote(inner: str, kind: str, params: str) -> str:
    body = to_markdown(inner)
    title = _param(params, "title") if kind == "panel" else ""
    if title:
        body = f"**{title}**\n\n{body}"
    return "\n".join(("> " + line).rstrip() for line in body.split("\n"))


def _blocks(text: str, keep: Keep) -> str:
    out: list[str] = []
    table: list[list[str]] = []
    previous = ""  # "list" | "table" | "": what the last line was, to end lists and tables cleanly

    def flush_table() -> None:
        if table:
            width = max(len(row) for row in table)
            rows = [row + [""] * (width - len(row)) for row in table]
            out.extend(["", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * width])
            out.extend("| " + " | ".join(row) + " |" for row in rows[1:])
            out.append("")
            table.clear()

    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith("|"):
            cells = [_inline(cell.strip(), keep).replace("|", "\\|") for cell in re.split(r"\|\|?", line.strip("|"))]
            table.append(cells)
            previous = "table"
            continue
        flush_table()
        match = _LIST.match(line)
        if match:
            # `*#` is a numbered item inside a bullet: each outer marker indents by its own width.
            markers = match[1]
            indent = "".join("   " if kind == "#" else "  " for kind in markers[:-1])
            bullet = "1. " if markers[-1] == "#" else "- "
            out.append(indent + bullet + _inline(match[2], keep))
            previous = "list"
            continue
        if previous == "list" and line:
            out.append("")  # in Markdown the next line would continue the last item
        previous = ""
        heading = _HEADING.match(line)
        if heading:
            out.append("#" * int(heading[1]) + " " + _inline(heading[2], keep))
        elif line.startswith("bq. "):
            out.append("> " + _inline(line[4:], keep))
        elif re.fullmatch(r"-{4,}", line):
            out.append("\n---\n")
        else:
            out.append(_inline(raw.rstrip(), keep))
    flush_table()
    return "\n".join(out)


def _inline(text: str, keep: Keep) -> str:
    text = _DROPPED.sub("", text)
    text = _MONO.sub(lambda m: keep("`" + m[1] + "`"), text)
    text = _IMAGE.sub(lambda m: keep(_image(m[1])), text)
    text = _LINK.sub(lambda m: keep(_link(m[0], m[1], m[2])), text)
    text = _BOLD.sub(lambda m: keep("**" + _inline(m[1], keep) + "**"), text)
    text = _ITALIC.sub(lambda m: keep("*" + _inline(m[1], keep) + "*"), text)
    text = _STRIKE.sub(lambda m: keep("~~" + _inline(m[1], keep) + "~~"), text)
    text = _UNDERLINE.sub(r"\1", text)
    # What is left is plain text: a star or edge underscore there is literal in wiki markup.
    text = _UNDERSCORE.sub(r"\\_", text.replace("*", "\\*").replace("`", "\\`"))
    return text.replace("\\\\", "\\\n")


def _image(name: str) -> str:
    if name.startswith(("http://", "https://")):
        return f"<{name}>"
    return _("[Attachment not imported: %(name)s]") % {"name": name}


def _link(written: str, text: str, target: str) -> str:
    text, target = text.strip(), target.strip()
    if not target:  # [target] alone
        text, target = "", text
    if target.startswith("~"):
        name = target[1:].removeprefix("accountid:")
        return "@" + (text or name)
    if target.startswith("^"):
        return _("[Attachment not imported: %(name)s]") % {"name": target[1:]}
    if target.startswith(("http://", "https://", "mailto:")):
        url = target.replace(" ", "%20").replace(")", "%29")
        return f"[{text}]({url})" if text else f"<{url}>"
    if target.startswith("#"):  # an anchor on the same page
        return text or target[1:]
    return written  # "[WIP]", "[text|CRM-1]": plain brackets or nothing Markdown can link
