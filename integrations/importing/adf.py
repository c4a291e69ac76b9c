"""Atlassian Document Format (Jira Cloud's rich text) → CommonMark with GitHub tables.

Whatever the document holds, the result is text: an unknown node gives its text content, a
malformed one gives nothing, and no input raises.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Past this depth nodes give their plain text: a hostile document cannot exhaust the stack.
MAX_DEPTH = 40

_LINE_START = re.compile(r"^(\s*)(#{1,6}(?:\s|$)|>|[-+*]\s|=+\s*$|-+\s*$)")
_NUMBERED_LINE_START = re.compile(r"^(\s*\d{1,9})([.)]\s)")
_SPECIAL = re.compile(r"([\\`*])")
# "_" opens emphasis only at a word's edge: snake_case stays readable.
_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def to_markdown(doc: Any) -> str:
    """The document as Markdown; a string (Jira's v2 API, wiki markup) passes through as it is."""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return ""
    return _blocks(_children(doc), 0).strip("\n")


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    content = node.get("content")
    if not isinstance(content, list):
        return []
    return [child for child in content if isinstance(child, dict)]


def _attrs(node: dict[str, Any]) -> dict[str, Any]:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _blocks(nodes: list[dict[str, Any]], depth: int) -> str:
    parts = [_block(node, depth) for node in nodes]
    return "\n\n".join(part for part in parts if part.strip())


def _block(node: dict[str, Any], depth: int) -> str:
    kind = node.get("type")
    if depth > MAX_DEPTH:
        return _escape(plain_text(node))
    attrs = _attrs(node)
    if kind == "paragraph":
        return _inline(_children(node), depth)
    if kind == "heading":
        level = attrs.get("level")
        level = level if isinstance(level, int) and 1 <= level <= 6 else 1
        text = _inline(_children(node), depth).replace("\\\n", " ").replace("\n", " ").strip()
        return "#" * level + " " + text if text else ""
    if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
        return _list(node, depth)
    if kind == "codeBlock":
        return _code_block(node)
    if kind == "blockquote":
        return _quote(_blocks(_children(node), depth + 1))
    if kind == "panel":
        label = PANEL_LABELS.get(_text(attrs.get("panelType")), "")
        inner = _blocks(_children(node), depth + 1)
        return _quote(f"**{label}:** {inner}" if label else inner)
    if kind in ("expand", "nestedExpand"):
        title = _text(attrs.get("title")).strip()
        inner = _blocks(_children(node), depth + 1)
        return f"**{_escape(title)}**\n\n{inner}" if title else inner
    if kind == "rule":
        return "---"
    if kind == "table":
        return _table(node, depth)
    if kind in ("mediaSingle", "mediaGroup"):
        return " ".join(filter(None, (_media(child) for child in _children(node))))
    if kind == "media":
        return _media(node)
    if kind in ("blockCard", "embedCard"):
        return _card(attrs)
    if kind in _INLINE_KINDS:
        return _inline([node], depth)
    # Unknown block (extensions, layouts, future nodes): keep what it says.
    children = _children(node)
    if children and all(child.get("type") not in _INLINE_KINDS for child in children):
        return _blocks(children, depth + 1)
    return _inline(children, depth) if children else _escape(plain_text(node))


PANEL_LABELS = {
    "info": gettext_lazy("Info"),
    "note": gettext_lazy("Note"),
    "tip": gettext_lazy("Tip"),
    "success": gettext_lazy("Success"),
    "warning": gettext_lazy("Warning"),
    "error": gettext_lazy("Error"),
}

_INLINE_KINDS = {"text", "hardBreak", "mention", "emoji", "inlineCard", "status", "date", "placeholder"}


def _list(node: dict[str, Any], depth: int) -> str:
    kind = node.get("type")
    start = _attrs(node).get("order")
    number = start if isinstance(start, int) and start >= 0 else 1
    lines: list[str] = []
    for child in _children(node):
        child_kind = child.get("type")
        if child_kind in ("bulletList", "orderedList", "taskList", "decisionList"):
            # A task list nests by holding another list beside its items: indent it under the last.
            lines.append(_indent(_list(child, depth + 1), "  "))
            continue
        if kind == "orderedList":
            marker = f"{number}. "
            number += 1
        elif kind == "taskList" or child_kind == "taskItem":
            marker = "- [x] " if _attrs(child).get("state") == "DONE" else "- [ ] "
        else:
            marker = "- "
        if child_kind in ("taskItem", "decisionItem"):
            body = _inline(_children(child), depth + 1)
        else:
            body = _item_body(_children(child), depth + 1)
        width = len(marker) if kind == "orderedList" else 2
        lines.append((marker + _indent(body, " " * width, first=False)).rstrip(" "))
    return "\n".join(lines)


def _item_body(nodes: list[dict[str, Any]], depth: int) -> str:
    """A list item's blocks; a nested list follows its paragraph directly so the list stays tight."""
    body = ""
    for node in nodes:
        part = _block(node, depth)
        if not part.strip():
            continue
        is_list = node.get("type") in ("bulletList", "orderedList", "taskList", "decisionList")
        body += ("\n" if is_list else "\n\n") + part if body else part
    return body


def _indent(text: str, prefix: str, *, first: bool = True) -> str:
    lines = text.split("\n")
    return "\n".join(
        line if (index == 0 and not first) or not line else prefix + line for index, line in enumerate(lines)
    )


def _quote(text: str) -> str:
    return "\n".join(("> " + line).rstrip() for line in text.split("\n"))


def _code_block(node: dict[str, Any]) -> str:
    code = "".join(_text(child.get("text")) for child in _children(node))
    language = re.sub(r"[^\w+#.-]", "", _text(_attrs(node).get("language")))
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.rstrip(chr(10))}\n{fence}"


def _table(node: dict[str, Any], depth: int) -> str:
    rows = [[_cell(cell, depth) for cell in _children(row)] for row in _children(node) if row.get("type") == "tableRow"]
    rows = [row for row in rows if row]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _cell(cell: dict[str, Any], depth: int) -> str:
    text = _blocks(_children(cell), depth + 1)
    return re.sub(r"\s*\n\s*", " ", text).replace("|", "\\|").strip()


def _media(node: dict[str, Any]) -> str:
    if node.get("type") != "media":
        return ""
    attrs = _attrs(node)
    name = _text(attrs.get("alt")) or _text(attrs.get("id")) or _text(attrs.get("url"))
    if attrs.get("type") == "external" and _text(attrs.get("url")).startswith(("http://", "https://")):
        return f"[{_escape(name)}]({_url(attrs['url'])})"
    return _escape(_("[Attachment not imported: %(name)s]") % {"name": name or "?"})


def _card(attrs: dict[str, Any]) -> str:
    url = _text(attrs.get("url"))
    return f"<{url}>" if url.startswith(("http://", "https://")) and " " not in url else _escape(url)


def _url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _inline(nodes: list[dict[str, Any]], depth: int) -> str:
    out: list[str] = []
    for node in nodes:
        kind = node.get("type")
        attrs = _attrs(node)
        if kind == "text":
            out.append(_marked(_text(node.get("text")), node.get("marks")))
        elif kind == "hardBreak":
            out.append("\\\n")
        elif kind == "mention":
            name = (_text(attrs.get("text")) or _text(attrs.get("id"))).lstrip("@")
            out.append("@" + _escape(name) if name else "")
        elif kind == "emoji":
            out.append(_text(attrs.get("text")) or _text(attrs.get("shortName")))
        elif kind == "inlineCard":
            out.append(_card(attrs))
        elif kind == "status":
            out.append(_escape(_text(attrs.get("text"))))
        elif kind == "date":
            out.append(_date(attrs.get("timestamp")))
        elif kind == "placeholder":
            continue
        elif depth > MAX_DEPTH:
            out.append(_escape(plain_text(node)))
        else:
            # Unknown inline node, or a block where an inline was expected: its text.
            inner = _children(node)
            out.append(_inline(inner, depth + 1) if inner else _escape(_text(node.get("text"))))
    text = "".join(out)
    # A paragraph that starts like a heading, quote or list item must stay a paragraph.
    return "\n".join(_NUMBERED_LINE_START.sub(r"\1\\\2", _LINE_START.sub(r"\1\\\2", line)) for line in text.split("\n"))


def _date(timestamp: Any) -> str:
    try:
        return datetime.fromtimestamp(int(timestamp) / 1000, tz=UTC).date().isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def _escape(text: str) -> str:
    return _UNDERSCORE.sub(r"\\_", _SPECIAL.sub(r"\\\1", text))


def _marked(text: str, marks: Any) -> str:
    if not text:
        return ""
    kinds: dict[str, dict[str, Any]] = {}
    for mark in marks if isinstance(marks, list) else []:
        if isinstance(mark, dict) and isinstance(mark.get("type"), str):
            kinds[mark["type"]] = _attrs(mark)
    if "code" in kinds:
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        ticks = "`" * (longest + 1)
        pad = " " if text.startswith("`") or text.endswith("`") else ""
        body = f"{ticks}{pad}{text}{pad}{ticks}"
    else:
        body = _escape(text)
    # Emphasis must hug its text: "**bold **" is not bold in CommonMark, so spaces go outside.
    stripped = body.strip()
    if not stripped:
        return body
    lead, trail = body[: len(body) - len(body.lstrip())], body[len(body.rstrip()) :]
    for kind, wrap in (("strong", "**"), ("em", "*"), ("strike", "~~")):
        if kind in kinds:
            stripped = f"{wrap}{stripped}{wrap}"
    href = _text(kinds.get("link", {}).get("href"))
    if href.startswith(("http://", "https://", "mailto:")):
        stripped = f"[{stripped}]({_url(href)})"
    return lead + stripped + trail


def plain_text(node: Any) -> str:
    """Every text in the node, depth-first, without recursion (any depth is safe)."""
    texts: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        if isinstance(current.get("text"), str):
            texts.append(current["text"])
        content = current.get("content")
        if isinstance(content, list):
            stack.extend(reversed(content))
    return " ".join(text.strip() for text in texts if text.strip())
