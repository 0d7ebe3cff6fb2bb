#!/usr/bin/env python3
"""CI smoke test of a running `make run`: sign in as the demo admin, upload a PDF, wait
until it is `ready`, then find it with a search. Standard library only (runs with the
machine's python3, outside the project's venv).

Usage: smoke_upload.py BASE_URL HOST LOGINS_JSON PDF
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any


def call(
    base: str, host: str, path: str, *, body: bytes | None = None, headers: dict[str, str]
) -> Any:
    url = base + path
    if not url.startswith("http://"):
        raise SystemExit(f"not an http:// address: {url}")
    request = urllib.request.Request(url, data=body, headers={"Host": host, **headers})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def main(base: str, host: str, logins_path: str, pdf_path: str) -> int:
    logins = json.loads(Path(logins_path).read_text())
    credentials = {"email": "admin@demo.example.com", "password": logins["demo_password"]}
    token = call(
        base, host, "/api/v1/auth/token/",
        body=json.dumps(credentials).encode(), headers={"Content-Type": "application/json"},
    )["access"]  # fmt: skip
    auth = {"Authorization": f"Bearer {token}"}

    pdf = Path(pdf_path)
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{pdf.name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + pdf.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    document = call(
        base, host, "/api/v1/documents/?allow_duplicate=1", body=body,
        headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    print(f"uploaded {pdf.name} as document {document['id']} ({document['status']})")

    deadline = time.monotonic() + 180
    while True:
        document = call(base, host, f"/api/v1/documents/{document['id']}/", headers=auth)
        if document["status"] in ("ready", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(f"document {document['id']}: {document['status']} {document.get('error', '')}")
    if document["status"] != "ready":
        return 1

    query = json.dumps({"query": "How long is the notice period?"}).encode()
    found = call(
        base, host, "/api/v1/search/", body=query,
        headers={**auth, "Content-Type": "application/json"},
    )["results"]  # fmt: skip
    if not found or found[0]["document_id"] != document["id"]:
        print(f"search did not find the uploaded document first: {found[:1]}")
        return 1
    print(f"search found it: page {found[0]['page']}: {found[0]['text'][:80]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
