"""Search, ask (JSON or server-sent events), query history and feedback endpoints."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django_tenants.utils import schema_context
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.collection_access import key_of, narrowed, readable_collection_ids
from accounts.models import User
from accounts.permissions import CanRead
from accounts.ratelimits import check_ask_rate
from config.openapi import BODY_ERROR_RESPONSES, ERROR_RESPONSES, LIST_ERROR_RESPONSES
from queries import selectors, services
from queries.api_inputs import (
    DEFAULT_SEARCH_TOP_K,
    AskInput,
    FeedbackInput,
    SearchInput,
    body_of,
    read_body,
)
from queries.feedback import record_feedback
from queries.models import Query, QueryError
from queries.negotiation import EVENT_STREAM, EventStreamRenderer, QualityNegotiation, sse_event
from tenants.db import current_schema

logger = logging.getLogger(__name__)
SEARCH_EXAMPLE = '{"query": "termination clause"}'
ASK_EXAMPLE = '{"question": "When can the contract be terminated?"}'
FEEDBACK_EXAMPLE = '{"helpful": true, "comment": "…"}'
STREAM_FAILED = (
    "The answer could not be finished; the error has been logged. Ask again, and if it keeps "
    "failing, tell your administrator."
)


class SearchResultOutput(serializers.Serializer[Any]):
    chunk_id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    document_name = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    section = serializers.CharField()
    text = serializers.CharField()
    highlight = serializers.CharField(help_text="Plain text; matches wrapped in « ».")
    score = serializers.FloatField()


class SearchOutput(serializers.Serializer[Any]):
    results = SearchResultOutput(many=True)
    took_ms = serializers.FloatField()
    cached = serializers.BooleanField()
    query_id = serializers.IntegerField()
    hint = serializers.CharField(required=False)


class CitationOutput(serializers.Serializer[Any]):
    marker = serializers.IntegerField()
    chunk_id = serializers.IntegerField()
    document_id = serializers.IntegerField()
    document_name = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    section = serializers.CharField(
        help_text='The passage\'s heading path, e.g. "Guide > Install"; empty when it has none.'
    )
    quote = serializers.CharField()


class AskOutput(serializers.Serializer[Any]):
    answer = serializers.CharField()
    citations = CitationOutput(many=True)
    backend = serializers.CharField()
    took_ms = serializers.FloatField()
    cached = serializers.BooleanField()
    degraded = serializers.BooleanField()
    usage = serializers.DictField(child=serializers.IntegerField(), required=False)
    query_id = serializers.IntegerField()
    hint = serializers.CharField(required=False)


class FeedbackOutput(serializers.Serializer[Any]):
    query_id = serializers.IntegerField()
    helpful = serializers.BooleanField()
    comment = serializers.CharField()
    updated_at = serializers.DateTimeField()


UNAVAILABLE = {503: OpenApiResponse(ERROR_RESPONSES[400], description="index must be rebuilt")}


def _json_or_event(responses: dict[int, Any]) -> dict[Any, Any]:
    """Ask's errors in both its media types: the JSON error, or one `error` event."""
    event = OpenApiResponse(
        OpenApiTypes.STR,
        description="With `Accept: text/event-stream`: one `error` event whose data is the "
        "JSON error body.",
    )
    documented: dict[Any, Any] = {}
    for code, response in responses.items():
        documented[(code, "application/json")] = response
        documented[(code, "text/event-stream")] = event
    return documented


def caller_of(request: Request, narrowed_to: list[int] | None = None) -> services.Caller:
    """Who asks, and the collections this call reads: the caller's readable ones, narrowed to
    `narrowed_to` (the body's `collection_ids`) when given."""
    prefix = getattr(request.auth, "display_prefix", "") if hasattr(request.auth, "scopes") else ""
    user = request.user if isinstance(request.user, User) else None
    return services.Caller(
        user=user,
        api_key_prefix=str(prefix or ""),
        collection_ids=narrowed(readable_collection_ids(user, key_of(request.auth)), narrowed_to),
        chosen_collection_ids=None if narrowed_to is None else tuple(sorted(set(narrowed_to))),
    )


def _run(call: Any, **kwargs: Any) -> Any:
    """Call a query service; its refusals (empty query 400, index to rebuild 503) are
    AppErrors, which the API's exception handler answers."""
    return call(**kwargs)


class _ThenLog(Response):
    """A response that writes its query-log row when the server closes it.

    The WSGI server closes a response after sending its last byte (the test client right
    away). The writes run before Django's own close work, which may close the database
    connection at the end of the request.
    """

    def __init__(self, data: Any, pending: list[services.PendingWrite]) -> None:
        super().__init__(data)
        self.pending = pending

    def close(self) -> None:
        pending, self.pending = self.pending, []
        for write in pending:
            write()  # logs its own failures
        super().close()


def _answer_then_log(call: Any, **kwargs: Any) -> Response:
    """Run a query service and answer; its query-log row is written once the answer is sent."""
    after_response: list[services.PendingWrite] = []
    return _ThenLog(_run(call, after_response=after_response, **kwargs), after_response)


class SearchView(APIView):
    """Search the workspace's documents: lexical (BM25), dense (vectors) or hybrid."""

    permission_classes = [CanRead]
    content_negotiation_class = QualityNegotiation
    counts_as_question = True  # the plan's counter is taken with the API limit's

    @extend_schema(
        tags=["search"],
        request=SearchInput,
        responses={200: SearchOutput, **ERROR_RESPONSES, **BODY_ERROR_RESPONSES, **UNAVAILABLE},
    )
    def post(self, request: Request) -> Response:
        check_ask_rate(request)
        values = read_body(SearchInput, request, SEARCH_EXAMPLE)
        return _answer_then_log(
            services.search,
            text=values["query"],
            caller=caller_of(request, values.get("collection_ids")),
            mode=values["mode"],
            top_k=values["top_k"] or DEFAULT_SEARCH_TOP_K,
            document_ids=values.get("document_ids"),
            use_cache=not values["no_cache"],
        )


class AskView(APIView):
    """Ask a question; the answer cites the chunks it used. Streams with `"stream": true`."""

    permission_classes = [CanRead]
    renderer_classes = [JSONRenderer, EventStreamRenderer]
    content_negotiation_class = QualityNegotiation
    counts_as_question = True

    @extend_schema(
        tags=["search"],
        request=AskInput,
        responses={
            (200, "application/json"): OpenApiResponse(
                AskOutput,
                description="JSON; or with `stream: true` / `Accept: text/event-stream`, "
                "server-sent `delta` events then one `done` event holding this object (an "
                "`error` event if the answer cannot be finished).",
            ),
            (200, "text/event-stream"): OpenApiResponse(OpenApiTypes.STR),
            **_json_or_event({**ERROR_RESPONSES, **BODY_ERROR_RESPONSES, **UNAVAILABLE}),
        },
    )
    def post(self, request: Request) -> Response | StreamingHttpResponse:
        check_ask_rate(request)
        wants_stream = isinstance(request.accepted_renderer, EventStreamRenderer)
        if not wants_stream and _stream_flag(body_of(request, ASK_EXAMPLE)):
            wants_stream = True
            # Errors from here on are an `error` event too, as the stream's client expects.
            request.accepted_renderer = EventStreamRenderer()
            request.accepted_media_type = EVENT_STREAM
        values = read_body(AskInput, request, ASK_EXAMPLE)
        arguments = {
            "question": values["question"],
            "caller": caller_of(request, values.get("collection_ids")),
            "top_k": values.get("top_k"),
            "document_ids": values.get("document_ids"),
            "use_cache": not values["no_cache"],
        }
        if not wants_stream:
            return _answer_then_log(services.ask, **arguments)
        events = _run(services.ask_events, **arguments)
        response = StreamingHttpResponse(
            _sse(events, current_schema()), content_type="text/event-stream; charset=utf-8"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
        return response


def _stream_flag(body: Any) -> bool:
    try:
        return bool(serializers.BooleanField().to_internal_value(body.get("stream", False)))
    except serializers.ValidationError:
        return False  # the serializer reports it


def _sse(events: Iterator[tuple[str, dict[str, Any]]], schema: str) -> Iterator[bytes]:
    # The body is produced after the view returned; pin the tenant so the log row lands there.
    with schema_context(schema):
        try:
            for name, payload in events:
                yield sse_event(name, payload).encode("utf-8")
        except GeneratorExit:
            # The server closed the response early (the client went away): close the answer
            # stream here, in the tenant's schema, so it logs its query as cancelled.
            close = getattr(events, "close", None)
            if close is not None:
                close()
            raise
        except Exception:
            # The status line is sent: end the stream cleanly with an `error` event rather
            # than letting the server abort the connection before the client reads it.
            logger.exception("The answer stream of %s failed.", schema)
            error = {"code": "server_error", "message": STREAM_FAILED}
            yield sse_event("error", {"error": error}).encode("utf-8")


class FeedbackSummary(serializers.Serializer[Any]):
    helpful = serializers.BooleanField()
    comment = serializers.CharField()


class QuerySerializer(serializers.ModelSerializer[Query]):
    feedback = serializers.SerializerMethodField()
    # Read-only model fields lose allow_blank; a query that succeeded has no error ("").
    error = serializers.ChoiceField(choices=QueryError.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Query
        fields = [
            "id",
            "kind",
            "text",
            "mode",
            "backend",
            "result_count",
            "cached",
            "degraded",
            "error",
            "embed_ms",
            "dense_ms",
            "lexical_ms",
            "fusion_ms",
            "answer_ms",
            "total_ms",
            "prompt_tokens",
            "completion_tokens",
            "embedding_tokens",
            "estimated_cost_usd",
            "feedback",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(FeedbackSummary(allow_null=True))
    def get_feedback(self, obj: Query) -> dict[str, Any] | None:
        feedback = getattr(obj, "feedback", None)
        if feedback is None:
            return None
        return {"helpful": feedback.helpful, "comment": feedback.comment}


@extend_schema_view(
    get=extend_schema(responses={200: QuerySerializer(many=True), **LIST_ERROR_RESPONSES})
)
class QueryHistoryView(generics.ListAPIView[Query]):
    """The caller's own searches and questions, newest first."""

    permission_classes = [CanRead]
    content_negotiation_class = QualityNegotiation
    serializer_class = QuerySerializer

    def get_queryset(self) -> Any:
        return selectors.history_for(caller_of(self.request))


class QueryFeedbackView(APIView):
    """Say whether a result or answer helped (sending again replaces the earlier verdict)."""

    permission_classes = [CanRead]
    content_negotiation_class = QualityNegotiation

    @extend_schema(
        tags=["search"],
        request=FeedbackInput,
        responses={200: FeedbackOutput, **ERROR_RESPONSES, **BODY_ERROR_RESPONSES},
    )
    def post(self, request: Request, pk: int) -> Response:
        caller = caller_of(request)
        query = get_object_or_404(selectors.history_for(caller), pk=pk)
        values = read_body(FeedbackInput, request, FEEDBACK_EXAMPLE)
        verdict = record_feedback(
            query=query,
            helpful=values["helpful"],
            comment=values["comment"],
            user=caller.user,
        )
        return Response(
            {
                "query_id": query.pk,
                "helpful": verdict.helpful,
                "comment": verdict.comment,
                "updated_at": verdict.updated_at,
            },
            status=status.HTTP_200_OK,
        )
