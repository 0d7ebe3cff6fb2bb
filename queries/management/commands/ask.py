"""`manage.py ask --tenant S "question"`: answer a question from a tenant's documents.

Prints the answer and its numbered citations, or the whole response as JSON with `--json`.
`--mode search` (or lexical/dense/hybrid with `--search`) lists ranked chunks instead.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from documents.index import IndexMismatchError
from documents.management.tenant_option import add_tenant_arguments, selected_tenants
from queries import services
from queries.retrieval import MODES


class Command(BaseCommand):
    help = "Ask a question (or --search) over a tenant's documents and print a cited answer."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_arguments(parser, allow_all=False)
        parser.add_argument("question")
        parser.add_argument("--json", action="store_true", help="print the response as JSON")
        parser.add_argument(
            "--search", action="store_true", help="list ranked chunks instead of answering"
        )
        parser.add_argument("--mode", choices=MODES, default="hybrid", help="for --search")
        parser.add_argument("--top-k", type=int, default=None)
        parser.add_argument("--no-cache", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = selected_tenants(options)[0]
        caller = services.Caller()
        with tenant_context(tenant):
            try:
                if options["search"]:
                    body = services.search(
                        text=options["question"],
                        caller=caller,
                        mode=options["mode"],
                        top_k=options["top_k"] or 10,
                        use_cache=not options["no_cache"],
                    )
                else:
                    body = services.ask(
                        question=options["question"],
                        caller=caller,
                        top_k=options["top_k"],
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
        if body["citations"]:
            self.stdout.write("")
        for citation in body["citations"]:
            page = f", page {citation['page']}" if citation["page"] else ""
            self.stdout.write(
                f"[{citation['marker']}] {citation['document_name']}{page}: {citation['quote']}"
            )

    def _print_results(self, body: dict[str, Any]) -> None:
        if body.get("hint"):
            self.stdout.write(body["hint"])
        for rank, hit in enumerate(body["results"], start=1):
            self.stdout.write(f"{rank}. {hit['document_name']} ({hit['score']:.4f})")
            self.stdout.write(f"   {hit['highlight'] or hit['text'][:200]}")
