"""Answer backends: turn a question and retrieved sources into a cited answer."""

from queries.answerers.base import (
    NO_ANSWER_TEXT,
    Answer,
    Answerer,
    AnswerEvent,
    Citation,
    Source,
)
from queries.answerers.registry import available_backends, get_answerer

__all__ = [
    "NO_ANSWER_TEXT",
    "Answer",
    "AnswerEvent",
    "Answerer",
    "Citation",
    "Source",
    "available_backends",
    "get_answerer",
]
