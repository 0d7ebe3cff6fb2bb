"""Feedback on a logged search or ask: whether it helped, and why not."""

from __future__ import annotations

from accounts.models import User
from queries.models import Query, QueryFeedback


def record_feedback(
    *, query: Query, helpful: bool, comment: str = "", user: User | None
) -> QueryFeedback:
    """Store (or replace) the caller's verdict on one of their queries."""
    feedback, _created = QueryFeedback.objects.update_or_create(
        query=query, defaults={"helpful": helpful, "comment": comment.strip(), "user": user}
    )
    return feedback
