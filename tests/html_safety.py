"""Checks that rendered HTML is inert: what a browser would execute, not what text it shows."""

from html.parser import HTMLParser

DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "style", "base", "form", "meta", "link", "svg", "math"}
DANGEROUS_SCHEMES = ("javascript:", "data:", "vbscript:")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in DANGEROUS_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag}[{name}]")
            if name in {"href", "src", "action", "formaction", "xlink:href"} and (
                value or ""
            ).strip().lower().startswith(DANGEROUS_SCHEMES):
                self.problems.append(f"{tag}[{name}={value}]")


def unsafe_parts(html: str, *, allow_tags: frozenset[str] = frozenset()) -> list[str]:
    """What in ``html`` would run script; ``allow_tags`` for a whole page's own <script>/<form>."""
    collector = _Collector()
    collector.feed(html)
    return [p for p in collector.problems if p.strip("<>") not in allow_tags]
