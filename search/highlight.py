"""Search highlights: `ts_headline` fragments of a chunk with the matched words in «».

PostgreSQL's parser takes `<anything like this>` for a markup tag, and ts_headline leaves
tags out of the headline: "The <script> tag" came back as "The   tag". The chunk's tsvector
reads angle brackets as spaces (documents.models.words_of), so here ts_headline is given the
text with `<` and `>` as two control characters (which stored text never holds:
documents.extractors.base.normalize_text removes them, and the parser takes them for spaces
too), mapped back afterwards. ts_headline starts and ends fragments at the parser's words,
leaving out what is around them ("«script»>" for "<script>"): each fragment is widened to
the whole words of the text, as written, that it starts and ends in.
"""

from __future__ import annotations

HIGHLIGHT_START, HIGHLIGHT_STOP = "«", "»"
FRAGMENT_DELIMITER = " … "
HEADLINE_OPTIONS = (
    f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, MaxWords=35, MinWords=12, "
    f'MaxFragments=2, FragmentDelimiter="{FRAGMENT_DELIMITER}", HighlightAll=false'
)
BRACKETS, STAND_INS = "<>", "\x01\x02"
_MAX_WIDENING = 40  # characters added at either end of a fragment, at most


def headline_sql(text_column: str) -> str:
    """The ts_headline expression; its parameters are `params(tsquery)`."""
    # translate() costs a tenth of ts_headline's time: text without brackets skips it.
    text = (
        f"CASE WHEN strpos({text_column}, '<') + strpos({text_column}, '>') > 0 "
        f"THEN translate({text_column}, '{BRACKETS}', %s) ELSE {text_column} END"
    )
    return f"ts_headline('english', {text}, to_tsquery('english', %s), %s)"


def params(tsquery: str) -> list[str]:
    return [STAND_INS, tsquery, HEADLINE_OPTIONS]


def restore(headline: str, text: str) -> str:
    """The headline as written in `text`: its angle brackets back, and each fragment widened
    to whole words of the text (between spaces), so a bracket or other character the parser
    left outside a fragment's first or last word is shown too."""
    for stand_in, bracket in zip(STAND_INS, BRACKETS, strict=True):
        headline = headline.replace(stand_in, bracket)
    fragments = headline.split(FRAGMENT_DELIMITER)
    return FRAGMENT_DELIMITER.join(_whole_words(fragment, text) for fragment in fragments)


def _whole_words(fragment: str, text: str) -> str:
    plain = fragment.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_STOP, "")
    at = text.find(plain) if plain else -1
    if at < 0:
        return fragment  # not found as written (e.g. the text holds « or »): left as it is
    start, end = at, at + len(plain)
    while start > 0 and not text[start - 1].isspace() and at - start < _MAX_WIDENING:
        start -= 1
    while end < len(text) and not text[end].isspace() and end - at - len(plain) < _MAX_WIDENING:
        end += 1
    if start > 0 and not text[start - 1].isspace():
        start = at  # a word longer than the widening allows: left as ts_headline cut it
    if end < len(text) and not text[end].isspace():
        end = at + len(plain)
    return text[start:at] + fragment + text[at + len(plain) : end]
