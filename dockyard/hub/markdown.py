"""A repository's full description (README) as safe HTML: markdown-it-py renders CommonMark + tables +
strikethrough (raw HTML allowed, as on Docker Hub), then nh3 (the Rust `ammonia` sanitiser) keeps only a
safe set of tags and attributes, so no script, event handler or `javascript:` link survives."""
from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}) \
    .enable("table").enable("strikethrough")

_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
         "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span",
         "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul"}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
               "td": {"align"}, "th": {"align"}, "code": {"class"}, "ol": {"start"}}


@functools.lru_cache(maxsize=256)
def render(text: str) -> Markup:
    """README Markdown -> sanitised HTML, safe to insert into a page as is (cached: READMEs repeat)."""
    html = _md.render(text or "")
    return Markup(nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                            link_rel="nofollow noopener noreferrer", strip_comments=True))
