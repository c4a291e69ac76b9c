"""ADF → Markdown: every node the converter knows, malformed documents, and what the backlog renders."""

from backlog.markdown import render_markdown
from integrations.importing.adf import plain_text, to_markdown


def t(text, *marks):
    node = {"type": "text", "text": text}
    if marks:
        node["marks"] = [m if isinstance(m, dict) else {"type": m} for m in marks]
    return node


def p(*content):
    return {"type": "paragraph", "content": list(content)}


def li(*content):
    return {"type": "listItem", "content": list(content)}


EVERY_NODE = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [t("Плановая запись")]},
        p(
            t("Plain, "),
            t("bold ", "strong"),
            t("italic", "em"),
            t(" and "),
            t("a_b()", "code"),
            t(", "),
            t("gone", "strike"),
            t(", "),
            t("docs", {"type": "link", "attrs": {"href": "https://example.com/a b"}}),
            t(" "),
            {"type": "mention", "attrs": {"id": "712020:x", "text": "@Aigerim Nurlanovna"}},
            t(" "),
            {"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}},
            {"type": "hardBreak"},
            t("second line with * star and snake_case"),
        ),
        {
            "type": "bulletList",
            "content": [
                li(p(t("one")), {"type": "bulletList", "content": [li(p(t("one.one")))]}),
                li(p(t("two"))),
            ],
        },
        {
            "type": "orderedList",
            "attrs": {"order": 3},
            "content": [
                li(p(t("three")), {"type": "orderedList", "content": [li(p(t("nested")))]}),
                li(p(t("four"))),
            ],
        },
        {
            "type": "taskList",
            "attrs": {"localId": "t"},
            "content": [
                {"type": "taskItem", "attrs": {"localId": "1", "state": "TODO"}, "content": [t("IIN has 12 digits")]},
                {"type": "taskItem", "attrs": {"localId": "2", "state": "DONE"}, "content": [t("phone mask")]},
                {
                    "type": "taskList",
                    "attrs": {"localId": "u"},
                    "content": [
                        {"type": "taskItem", "attrs": {"localId": "3", "state": "TODO"}, "content": [t("sub-task")]},
                    ],
                },
            ],
        },
        {"type": "codeBlock", "attrs": {"language": "python"}, "content": [t("print('```')\n")]},
        {"type": "blockquote", "content": [p(t("quoted")), p(t("twice"))]},
        {"type": "rule"},
        {
            "type": "table",
            "attrs": {"isNumberColumnEnabled": False},
            "content": [
                {
                    "type": "tableRow",
                    "content": [
                        {"type": "tableHeader", "content": [p(t("Field", "strong"))]},
                        {"type": "tableHeader", "content": [p(t("Rule"))]},
                    ],
                },
                {
                    "type": "tableRow",
                    "content": [
                        {"type": "tableCell", "content": [p(t("IIN"))]},
                        {"type": "tableCell", "content": [p(t("12 digits | no spaces")), p(t("checked"))]},
                    ],
                },
            ],
        },
        {"type": "panel", "attrs": {"panelType": "warning"}, "content": [p(t("Mind the time zone."))]},
        {
            "type": "mediaSingle",
            "attrs": {"layout": "center"},
            "content": [
                {"type": "media", "attrs": {"type": "file", "id": "abc-123", "collection": "c", "alt": "schema.png"}},
            ],
        },
        {"type": "bodiedExtension", "attrs": {"extensionKey": "x"}, "content": [p(t("inside an extension"))]},
        {"type": "someFutureNode", "content": [{"type": "mysteryInline", "text": "still readable"}]},
    ],
}

EVERY_NODE_MARKDOWN = """\
## Плановая запись

Plain, **bold** *italic* and `a_b()`, ~~gone~~, [docs](https://example.com/a%20b) @Aigerim Nurlanovna 😄\\
second line with \\* star and snake_case

- one
  - one.one
- two

3. three
   1. nested
4. four

- [ ] IIN has 12 digits
- [x] phone mask
  - [ ] sub-task

````python
print('```')
````

> quoted
>
> twice

---

| **Field** | Rule |
|---|---|
| IIN | 12 digits \\| no spaces checked |

> **Warning:** Mind the time zone.

[Attachment not imported: schema.png]

inside an extension

still readable"""


def test_every_node_becomes_the_expected_markdown():
    assert to_markdown(EVERY_NODE) == EVERY_NODE_MARKDOWN


def test_the_markdown_renders_as_the_document_meant():
    html = render_markdown(to_markdown(EVERY_NODE))

    assert "<h2>Плановая запись</h2>" in html
    assert "<strong>bold</strong> <em>italic</em> and <code>a_b()</code>, <s>gone</s>" in html
    assert "😄<br>\nsecond line with * star and snake_case</p>" in html
    assert "<ul>\n<li>one\n<ul>\n<li>one.one</li>\n</ul>\n</li>\n<li>two</li>\n</ul>" in html
    assert '<ol start="3">' in html or "<ol>\n<li>three" in html
    assert "<li>[x] phone mask\n<ul>\n<li>[ ] sub-task</li>" in html
    assert "<pre><code>print('```')\n</code></pre>" in html
    assert "<blockquote>\n<p>quoted</p>\n<p>twice</p>\n</blockquote>" in html
    assert "<th><strong>Field</strong></th>" in html
    assert "<td>12 digits | no spaces checked</td>" in html
    assert "<p><strong>Warning:</strong> Mind the time zone.</p>" in html


def test_text_that_looks_like_markdown_stays_text():
    doc = {
        "type": "doc",
        "content": [p(t("# not a heading")), p(t("1. not a list")), p(t("- nor this")), p(t("> nor a quote"))],
    }

    html = render_markdown(to_markdown(doc))

    assert html == "<p># not a heading</p>\n<p>1. not a list</p>\n<p>- nor this</p>\n<p>&gt; nor a quote</p>\n"


def test_marks_combine_and_links_other_than_web_are_dropped():
    doc = p(
        t("all", "strong", "em", "strike"),
        t(" "),
        t("x", {"type": "link", "attrs": {"href": "javascript:alert(1)"}}),
        t(" "),
        t("`tick`", "code"),
    )

    assert to_markdown({"type": "doc", "content": [doc]}) == "~~***all***~~ x `` `tick` ``"


def test_external_media_links_and_cards_keep_their_urls():
    doc = {
        "type": "doc",
        "content": [
            {
                "type": "mediaSingle",
                "content": [{"type": "media", "attrs": {"type": "external", "url": "https://img.example/a.png"}}],
            },
            p({"type": "inlineCard", "attrs": {"url": "https://example.atlassian.net/browse/CRM-1"}}),
            {"type": "blockCard", "attrs": {"url": "https://example.com/spec"}},
            p(
                {"type": "status", "attrs": {"text": "IN REVIEW"}},
                t(" "),
                {"type": "date", "attrs": {"timestamp": "1794960000000"}},
            ),
            {"type": "expand", "attrs": {"title": "Details"}, "content": [p(t("hidden"))]},
        ],
    }

    assert to_markdown(doc) == (
        "[https://img.example/a.png](https://img.example/a.png)\n\n"
        "<https://example.atlassian.net/browse/CRM-1>\n\n"
        "<https://example.com/spec>\n\n"
        "IN REVIEW 2026-11-18\n\n"
        "**Details**\n\nhidden"
    )


def test_v2_string_passes_through_and_nothing_gives_nothing():
    assert to_markdown("h1. Wiki *markup* as Jira v2 sends it") == "h1. Wiki *markup* as Jira v2 sends it"
    assert to_markdown(None) == ""
    assert to_markdown(["not", "a", "doc"]) == ""
    assert to_markdown({"type": "doc"}) == ""


def test_malformed_nodes_never_raise():
    doc = {
        "type": "doc",
        "content": [
            "a string where a node should be",
            None,
            {"type": "paragraph", "content": "not a list"},
            {"type": "heading", "attrs": {"level": 99}, "content": [t("Too deep a heading")]},
            {"type": "heading", "attrs": "nonsense", "content": [{"type": "text", "text": 42}]},
            {"type": "orderedList", "attrs": {"order": "x"}, "content": [{"type": "listItem"}, li(p(t("ok")))]},
            {"type": "table", "content": [{"type": "tableRow", "content": []}]},
            {"type": "codeBlock"},
            {"type": "mention", "attrs": {}},
            {"type": "text", "text": "bare text at block level", "marks": "bogus"},
            {"content": [t("no type at all")]},
        ],
    }

    assert to_markdown(doc) == (
        "# Too deep a heading\n\n1.\n2. ok\n\n```\n\n```\n\nbare text at block level\n\nno type at all"
    )


def test_a_hostile_depth_gives_its_text_without_recursion_errors():
    node = t("bottom")
    for _level in range(50_000):
        node = {"type": "blockquote", "content": [node]}

    markdown = to_markdown({"type": "doc", "content": [node]})

    assert markdown.endswith("bottom")
    assert plain_text(node) == "bottom"
