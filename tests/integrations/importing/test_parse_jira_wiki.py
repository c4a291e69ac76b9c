"""Jira wiki markup (the CSV export's rich text) → Markdown, and what the backlog renders from it."""

from backlog.markdown import render_markdown
from integrations.importing.jira_wiki import to_markdown

WIKI = """\
h2. Плановая запись
Plain, *bold* and _italic_ and {{code_here()}}, -gone-, +under+, [docs|https://example.com/a b] \
[~accountid:712020:abc] [~daniyar] [WIP] [https://x.kz] [#anchor] !schema.png|thumbnail! {color:red}red{color}
first\\\\second
* one
** one.one
*# numbered inside
* two
# three
## nested
# four
after the list

{code:python}
print('*not bold*')
{code}
{noformat}
raw {{x}}
{noformat}
{quote}
quoted *bold*
{quote}
{panel:title=Heads up|borderStyle=solid}
Mind the time zone.
{panel}
bq. a short quote
----
||Field||Rule||
|IIN|12 digits|
|Phone|+7 mask|
snake_case_name, well-known, 2026-11-24, C++, a - b - c, 5*3*2"""

MARKDOWN = """\
## Плановая запись
Plain, **bold** and *italic* and `code_here()`, ~~gone~~, under, [docs](https://example.com/a%20b) \
@712020:abc @daniyar [WIP] <https://x.kz> anchor [Attachment not imported: schema.png] red
first\\
second
- one
  - one.one
  1. numbered inside
- two
1. three
   1. nested
1. four

after the list

```python
print('*not bold*')
```

```
raw {{x}}
```

> quoted **bold**

> **Heads up**
>
> Mind the time zone.

> a short quote

---

| Field | Rule |
|---|---|
| IIN | 12 digits |
| Phone | +7 mask |

snake_case_name, well-known, 2026-11-24, C++, a - b - c, 5\\*3\\*2"""


def test_wiki_markup_becomes_the_expected_markdown():
    assert to_markdown(WIKI) == MARKDOWN


def test_the_markdown_renders_as_jira_showed_it():
    html = render_markdown(to_markdown(WIKI))

    assert "<h2>Плановая запись</h2>" in html
    assert "<strong>bold</strong> and <em>italic</em> and <code>code_here()</code>, <s>gone</s>" in html
    assert '<a href="https://example.com/a%20b" rel="noopener noreferrer nofollow">docs</a>' in html
    assert "first<br>\nsecond" in html
    assert "<li>one\n<ul>\n<li>one.one</li>\n</ul>\n<ol>\n<li>numbered inside</li>\n</ol>\n</li>" in html
    assert "<li>four</li>\n</ol>\n<p>after the list</p>" in html
    assert "<pre><code>print('*not bold*')\n</code></pre>" in html
    assert "<blockquote>\n<p><strong>Heads up</strong></p>\n<p>Mind the time zone.</p>\n</blockquote>" in html
    assert "<td>Phone</td>\n<td>+7 mask</td>\n</tr>\n</tbody>\n</table>" in html
    assert "<p>snake_case_name, well-known, 2026-11-24, C++, a - b - c, 5*3*2</p>" in html


def test_plain_text_passes_unchanged():
    text = 'Steps:\n1. Password: a"b,c;d\n2. Log in\nExpected: logged in. Actual: 500.'

    assert to_markdown(text) == text
    assert to_markdown("") == ""
    assert to_markdown("Windows\r\nline endings") == "Windows\nline endings"


def test_code_fences_grow_past_backticks_inside_and_unclosed_blocks_stay_text():
    assert to_markdown("{code}a ``` b{code}") == "````\na ``` b\n````"
    assert to_markdown("{code:title=Foo.java|language=java}x{code}") == "```java\nx\n```"
    assert to_markdown("{code}never closed") == "{code}never closed"


def test_nul_bytes_cannot_forge_a_slot():
    assert to_markdown("\x000\x00 *x*") == "0 **x**"
