"""Answer backends: turn a question and retrieved sources into a cited answer.

``get_answerer(name, **options)`` builds one; a new backend registers a factory with
``register_backend`` (docs/extending.md).
"""

from queries.answerers.base import (
    NO_ANSWER_TEXT,
    Answer,
    Answerer,
    AnswerEvent,
    Citation,
    Source,
)
from queries.answerers.registry import (
    available_backends,
    check_backend,
    get_answerer,
    register_backend,
)

__all__ = [
    "NO_ANSWER_TEXT",
    "Answer",
    "AnswerEvent",
    "Answerer",
    "Citation",
    "Source",
    "available_backends",
    "check_backend",
    "get_answerer",
    "register_backend",
]
