"""Popular topics: the window's queries grouped by their key terms, for owners and admins.

"How do I reset my password?", "password reset" and "resetting passwords" are one topic:
every text is read by PostgreSQL's English configuration, the stopwords and Snowball stems
lexical search matches with (`Chunk.search_vector`, search/bm25.py), and queries with the
same set of terms form a topic. Word order, repeats, case and punctuation do not matter;
one more or one fewer key term makes another topic ("reset my VPN password" is not "reset
my password"). Hyphenated words count as their parts ("password-reset" is "password reset").
Texts with no key term left ("how?") belong to no topic.

One statement reads the newest TOPIC_SAMPLE queries of the window, analyses and groups them
and returns the top few, so a busy workspace costs the same as a quiet one; the rest of the
window is left out of the topics (the page says so when it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from analytics.query_lists import LIST_LIMIT
from analytics.query_stats import Window
from queries.models import Query

TOPIC_SAMPLE = 5000  # the newest queries of the window that topics are computed from
TOPIC_MIN_COUNT = 2  # a single query is not a popular topic
TOPIC_WORDINGS = 4  # the label and up to three other wordings

# Steps: the window's newest rows; one row per wording (normalized_hash, as in "Most
# repeated") with its latest text; that text's key terms (sorted, distinct lexemes, the parts
# of a hyphenated word and not the whole), analysed once per wording rather than once per
# query (the same normalised text has the same terms); one row per set of terms, wordings
# most frequent first, then the latest first.
# Angle brackets read as spaces, as in documents.models.words_of.
_TOPICS_SQL = """
WITH recent AS (
    SELECT id, text, normalized_hash, created_at
    FROM {table}
    WHERE created_at >= %(start)s AND created_at < %(end)s
    ORDER BY created_at DESC, id DESC
    LIMIT %(sample)s
), wordings AS (
    SELECT count(*) AS n, max(created_at) AS last_seen, max(id) AS latest_id,
        (array_agg(text ORDER BY created_at DESC, id DESC))[1] AS text
    FROM recent
    GROUP BY normalized_hash
), keyed AS (
    SELECT n, last_seen, latest_id, text,
        ARRAY(
            SELECT lexeme
            FROM unnest(tsvector_to_array(to_tsvector('english', translate(text, '<>', '  '))))
                AS lexeme
            WHERE lexeme !~ '.-.'
            ORDER BY lexeme COLLATE "C"
        ) AS terms
    FROM wordings
)
SELECT terms, sum(n)::integer AS queries, max(last_seen) AS topic_last_seen,
    (array_agg(text ORDER BY n DESC, last_seen DESC, latest_id DESC))[1:%(wordings)s] AS texts
FROM keyed
WHERE cardinality(terms) > 0
GROUP BY terms
HAVING sum(n) >= %(min_count)s
ORDER BY queries DESC, topic_last_seen DESC, terms
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Topic:
    """Queries about one thing, however they were worded."""

    label: str  # the most frequent wording, in its latest form
    terms: tuple[str, ...]  # the key terms (stems) the queries share, alphabetically
    count: int
    last_seen: datetime
    variants: tuple[str, ...]  # other wordings, most frequent first (three at most)


def popular_topics(
    window: Window, *, limit: int = LIST_LIMIT, sample: int = TOPIC_SAMPLE
) -> list[Topic]:
    """The topics asked about most often among the window's newest `sample` queries."""
    sql = _TOPICS_SQL.format(table=connection.ops.quote_name(Query._meta.db_table))
    params: dict[str, datetime | int] = {
        "start": window.start,
        "end": window.end,
        "sample": sample,
        "wordings": TOPIC_WORDINGS,
        "min_count": TOPIC_MIN_COUNT,
        "limit": limit,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        Topic(
            label=texts[0],
            terms=tuple(terms),
            count=count,
            last_seen=last_seen,
            variants=tuple(texts[1:]),
        )
        for terms, count, last_seen, texts in rows
    ]
