"""`manage.py ask --tenant S "question"`: answer a question from a tenant's documents.

Prints the answer, its numbered citations and any hint, or the whole response as JSON with
`--json`. `--search` lists ranked chunks instead, in the `--mode` given (lexical, dense or
hybrid; hybrid by default). `--top-k` is capped as in the API: QUERY_MAX_TOP_K results for
`--search`, 20 citations for an answer.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django_tenants.utils import tenant_context

from documents.management.tenant_option import (
    StrictCommand,
    add_tenant_arguments,
    selected_tenants,
)
from queries import services
from queries.api_inputs import MAX_TEXT, AskInput
from search.index import IndexMismatchError
from search.retrieval import MODES
from search.settings import search_settings

DEFAULT_SEARCH_TOP_K = 10
NUL_IN_TEXT = (
    "The question contains a NUL character (\\x00), which cannot be stored or searched; "
    "remove it and try again."
)
NOT_TEXT = (
    "The question contains characters that are not valid text (surrogates); the terminal "
    "probably passed bytes that are not UTF-8. Type the question again as UTF-8 text."
)


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number.") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}.")
    return number


def search_top_k_limit() -> int:
    return search_settings().max_top_k  # SearchInput.validate_top_k


def ask_top_k_limit() -> int:
    limit = getattr(AskInput().fields["top_k"], "max_value", None)  # the API's answer cap
    return int(limit) if limit is not None else search_top_k_limit()


class Command(StrictCommand):
    help = "Ask a question (or --search) over a tenant's documents and print a cited answer."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_arguments(parser, allow_all=False)
        parser.add_argument("question")
        parser.add_argument("--json", action="store_true", help="print the response as JSON")
        parser.add_argument(
            "--search", action="store_true", help="list ranked chunks instead of answering"
        )
        parser.add_argument(
            "--mode", choices=MODES, default=None, help="for --search (default: hybrid)"
        )
        parser.add_argument(
            "--top-k",
            type=positive_int,
            default=None,
            metavar="N",
            help="results (--search, default 10) or citations to use; a positive number",
        )
        parser.add_argument("--no-cache", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        question = options["question"]
        try:
            question.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CommandError(NOT_TEXT) from exc
        if "\x00" in question:
            raise CommandError(NUL_IN_TEXT)
        if len(question) > MAX_TEXT:
            raise CommandError(
                f"The question is {len(question):,} characters long; the limit is {MAX_TEXT:,} "
                "(as in the API). Shorten it."
            )
        if options["mode"] is not None and not options["search"]:
            raise CommandError("--mode applies to --search only.")
        top_k = options["top_k"]
        limit = search_top_k_limit() if options["search"] else ask_top_k_limit()
        if top_k is not None and top_k > limit:
            what = "--search" if options["search"] else "an answer"
            raise CommandError(f"--top-k can be at most {limit} for {what}, not {top_k}.")
        tenant = selected_tenants(options, allow_all=False)[0]
        caller = services.Caller()
        with tenant_context(tenant):
            try:
                if options["search"]:
                    body = services.search(
                        text=question,
                        caller=caller,
                        mode=options["mode"] or "hybrid",
                        top_k=top_k or DEFAULT_SEARCH_TOP_K,
                        use_cache=not options["no_cache"],
                    )
                else:
                    body = services.ask(
                        question=question,
                        caller=caller,
                        top_k=top_k,
                        use_cache=not options["no_cache"],
                    )
            except (services.EmptyQuery, IndexMismatchError) as exc:
                raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(body, indent=2, ensure_ascii=False, default=str))
        elif options["search"]:
            self._print_results(body)
        else:
            self._print_answer(body)

    def _print_answer(self, body: dict[str, Any]) -> None:
        self.stdout.write(body["answer"])
        if body.get("degraded"):
            self.stdout.write("(The configured answer service failed; this is the offline answer.)")
        if body.get("hint"):
            self.stdout.write(body["hint"])
        if body["citations"]:
            self.stdout.write("")
        for citation in body["citations"]:
            page = f", page {citation['page']}" if citation["page"] else ""
            head = f"[{citation['marker']}] {citation['document_name']}{page}: "
            # A quote spanning lines keeps its continuation lines under the citation.
            self.stdout.write(head + _indent(citation["quote"], "    ").removeprefix("    "))

    def _print_results(self, body: dict[str, Any]) -> None:
        if body.get("hint"):
            self.stdout.write(body["hint"])
        for rank, hit in enumerate(body["results"], start=1):
            self.stdout.write(f"{rank}. {hit['document_name']} ({hit['score']:.4f})")
            excerpt = hit["highlight"] or hit["text"][:200]
            self.stdout.write(_indent(excerpt, "   "))


def _indent(text: str, prefix: str) -> str:
    """Every line of `text` under the same prefix, so a multi-line excerpt stays in its hit."""
    return "\n".join(f"{prefix}{line}" for line in text.splitlines() or [""])
