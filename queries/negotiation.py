"""Ask's two media types: JSON or server-sent events, chosen by the Accept header's q-values.

DRF's own negotiation ranks media ranges by how specific they are and ignores `q`, so
`Accept: text/event-stream;q=0` chose the stream and `application/json;q=0.5,
text/event-stream` rendered errors as JSON but answers as a stream. Here the renderer whose
best-matching range has the highest q wins (RFC 9110 §12.5.1), then the more specific
range; when both name their type as highly (`application/json, text/event-stream`) the event
stream wins, since a client naming it can read it. `*/*` alone is JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

EVENT_STREAM = "text/event-stream"


class EventStreamRenderer(BaseRenderer):
    """Lets clients send `Accept: text/event-stream`; errors become one `error` event."""

    media_type = EVENT_STREAM
    format = "sse"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return sse_event("error", data).encode("utf-8")


def sse_event(name: str, payload: Any) -> str:
    # json.dumps never emits raw newlines, so one `data:` line always holds the whole payload.
    return f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _ranges(header: str) -> list[tuple[str, str, float, int]]:
    """(type, subtype, q, specificity) of each media range of an Accept header."""
    ranges = []
    for item in header.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if "/" not in media:
            continue
        kind, _, subtype = media.lower().partition("/")
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0  # a malformed weight accepts nothing
        specificity = (kind != "*") + (subtype != "*")
        ranges.append((kind, subtype, q, specificity))
    return ranges


def _weight(media_type: str, ranges: list[tuple[str, str, float, int]]) -> tuple[float, int]:
    """q and specificity of the most specific range matching `media_type`; q 0 if none does."""
    kind, _, subtype = media_type.partition("/")
    best: tuple[float, int] = (0.0, -1)
    for r_kind, r_subtype, q, specificity in ranges:
        if r_kind in ("*", kind) and r_subtype in ("*", subtype) and specificity > best[1]:
            best = (q, specificity)
    return best


class QualityNegotiation(DefaultContentNegotiation):
    """Picks a renderer by the Accept header's q-values; 406 names what the endpoint sends."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        if format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE or ""):
            return super().select_renderer(request, renderers, format_suffix)
        renderers = list(renderers)
        header = request.META.get("HTTP_ACCEPT", "").strip()
        if not header:
            return renderers[0], renderers[0].media_type
        ranges = _ranges(header)
        weighted = [(*_weight(r.media_type, ranges), r) for r in renderers]
        best_q, best_specificity, _ = max(weighted, key=lambda item: item[:2])
        if best_q <= 0:
            offered = " or ".join(r.media_type for r in renderers)
            raise NotAcceptable(
                f"This endpoint answers {offered}, which the Accept header does not allow; "
                f"send Accept: {renderers[0].media_type} (or leave the header out)."
            )
        chosen = [r for q, spec, r in weighted if (q, spec) == (best_q, best_specificity)]
        # `*/*` alone is JSON; naming the event stream as highly as JSON is a stream.
        named = best_specificity == 2
        renderer = next((r for r in chosen if named and r.media_type == EVENT_STREAM), chosen[0])
        return renderer, renderer.media_type
