"""Where backups are kept: a directory, or an S3-compatible bucket (`s3://bucket/prefix`).

A backup is a folder of files named after it (`platform-20261207T120000Z`,
`tenant-acme-20261207T120000Z`) with its `manifest.json` written last: a folder without a
manifest is an interrupted backup, never listed and never restored. In a directory the
folder is written under a temporary name and renamed into place.

S3: boto3 with the usual AWS credentials (environment, shared files, instance or pod role;
never the command line), `BACKUP_S3_ENDPOINT_URL` for any S3-compatible store (MinIO, Ceph,
R2), `BACKUP_S3_SSE` (`AES256` or `aws:kms`, with `BACKUP_S3_KMS_KEY_ID`) for server-side
encryption.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

from operators.backups.postgres import BackupError

MANIFEST = "manifest.json"
_NAME = re.compile(r"^(platform|tenant-[a-z0-9_]+)-\d{8}T\d{6}Z$")
Progress = Callable[[str], None]


def is_backup_name(name: str) -> bool:
    return bool(_NAME.match(name))


class Destination(Protocol):
    """A place holding backups, each a folder of files (Directory, Bucket)."""

    def check(self) -> None:
        """Refuse, before anything is dumped, a destination a backup cannot be written to."""

    def upload(self, staging: Path, name: str, progress: Progress) -> str:
        """Copy the finished backup in `staging` to `name` here; returns where it is."""

    def download(self, name: str, into: Path, progress: Progress) -> None:
        """Copy the backup `name` into the folder `into`."""

    def names(self) -> list[str]:
        """Complete backups here (with a manifest), oldest first."""

    def delete(self, name: str) -> None:
        """Remove the backup `name`."""

    def where(self, name: str) -> str:
        """The address of the backup `name` (what `restore --from` takes)."""


@dataclass(frozen=True)
class Directory:
    root: Path

    def check(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise BackupError(f"{self.root} is a file, not a folder; give a folder for backups.")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupError(f"The folder {self.root} cannot be created: {exc.strerror}.") from exc
        if not os.access(self.root, os.W_OK):
            raise BackupError(f"The folder {self.root} is not writable by this user.")

    def upload(self, staging: Path, name: str, progress: Progress) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".partial-{name}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        # The manifest last: a folder without one is never taken for a backup.
        for path in sorted(staging.iterdir(), key=lambda p: p.name == MANIFEST):
            progress(f"copying {path.name}")
            shutil.copyfile(path, partial / path.name)
        partial.rename(self.root / name)
        return self.where(name)

    def download(self, name: str, into: Path, progress: Progress) -> None:
        source = self.root / name
        if not (source / MANIFEST).is_file():
            raise BackupError(f"There is no complete backup at {source} (no {MANIFEST}).")
        for path in source.iterdir():
            if path.is_file():
                progress(f"reading {path.name}")
                shutil.copyfile(path, into / path.name)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = [
            path.name
            for path in self.root.iterdir()
            if is_backup_name(path.name) and (path / MANIFEST).is_file()
        ]
        return sorted(found, key=_stamp)

    def delete(self, name: str) -> None:
        shutil.rmtree(self.root / name, ignore_errors=True)

    def where(self, name: str) -> str:
        return str(self.root / name)


@dataclass(frozen=True)
class Bucket:
    bucket: str
    prefix: str

    def check(self) -> None:
        client = self._client()
        _s3_call(f"Reaching {self.where('')}", client.head_bucket, Bucket=self.bucket)

    def _client(self) -> Any:
        import boto3  # type: ignore[import-untyped]  # only S3 backups need it

        endpoint = str(getattr(settings, "BACKUP_S3_ENDPOINT_URL", "") or "") or None
        return boto3.client("s3", endpoint_url=endpoint)

    def _key(self, name: str, file: str = "") -> str:
        parts = [part for part in (self.prefix, name, file) if part]
        return "/".join(parts)

    def _keys(self, client: Any, name: str) -> list[str]:
        """The object keys of one backup (a backup holds a handful of files)."""
        listed = _s3_call(
            f"Listing {self.where(name)}",
            client.list_objects_v2,
            Bucket=self.bucket,
            Prefix=self._key(name) + "/",
        )
        return [str(item["Key"]) for item in listed.get("Contents", [])]

    def _extra(self) -> dict[str, str]:
        sse = str(getattr(settings, "BACKUP_S3_SSE", "") or "")
        extra = {"ServerSideEncryption": sse} if sse else {}
        key_id = str(getattr(settings, "BACKUP_S3_KMS_KEY_ID", "") or "")
        if sse == "aws:kms" and key_id:
            extra["SSEKMSKeyId"] = key_id
        return extra

    def upload(self, staging: Path, name: str, progress: Progress) -> str:
        client = self._client()
        for path in sorted(staging.iterdir(), key=lambda p: p.name == MANIFEST):
            progress(f"uploading {path.name}")
            _s3_call(
                f"Uploading {path.name} to {self.where(name)}",
                client.upload_file,
                str(path),
                self.bucket,
                self._key(name, path.name),
                ExtraArgs=self._extra(),
            )
        return self.where(name)

    def download(self, name: str, into: Path, progress: Progress) -> None:
        client = self._client()
        files = [key.rsplit("/", 1)[-1] for key in self._keys(client, name)]
        if MANIFEST not in files:
            raise BackupError(f"There is no complete backup at {self.where(name)} (no {MANIFEST}).")
        for file in files:
            progress(f"downloading {file}")
            _s3_call(
                f"Downloading {file} from {self.where(name)}",
                client.download_file,
                self.bucket,
                self._key(name, file),
                str(into / file),
            )

    def names(self) -> list[str]:
        client = self._client()
        prefix = self._key("") + "/" if self.prefix else ""
        found: set[str] = set()
        paginator = client.get_paginator("list_objects_v2")
        pages = _s3_call(
            f"Listing {self.where('')}", list, paginator.paginate(Bucket=self.bucket, Prefix=prefix)
        )
        for page in pages:
            for item in page.get("Contents", []):
                rest = item["Key"][len(prefix) :]
                name, _, file = rest.partition("/")
                if file == MANIFEST and is_backup_name(name):
                    found.add(name)
        return sorted(found, key=_stamp)

    def delete(self, name: str) -> None:
        client = self._client()
        keys = [{"Key": key} for key in self._keys(client, name)]
        if keys:
            _s3_call(
                f"Deleting {self.where(name)}",
                client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": keys},
            )

    def where(self, name: str) -> str:
        return "s3://" + "/".join(part for part in (self.bucket, self.prefix, name) if part)


def _s3_call(what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`call(*args, **kwargs)`; a failure of the store is a BackupError saying `what` failed."""
    from botocore.exceptions import (  # type: ignore[import-untyped]
        BotoCoreError,
        ClientError,
    )

    try:
        return call(*args, **kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise BackupError(f"{what} failed: {exc}") from exc


def _stamp(name: str) -> str:
    return name.rsplit("-", 1)[-1]


def parse(spec: str) -> Destination:
    """`s3://bucket/prefix` or a directory path."""
    if spec.startswith("s3://"):
        bucket, _, prefix = spec[len("s3://") :].partition("/")
        if not bucket:
            raise BackupError(f"'{spec}' names no bucket; write s3://bucket or s3://bucket/prefix.")
        return Bucket(bucket, prefix.strip("/"))
    if not spec.strip():
        raise BackupError("Say where the backups go: a folder or an s3://bucket/prefix address.")
    if "://" in spec:
        raise BackupError(
            f"'{spec}' is neither a directory nor an s3:// address; backups go to one of those."
        )
    return Directory(Path(spec).expanduser().resolve())


def split_backup(spec: str) -> tuple[Destination, str]:
    """A backup's own location (what `backup` printed) as (its destination, its name)."""
    trimmed = spec.rstrip("/")
    parent, _, name = trimmed.rpartition("/")
    if "://" not in spec and not Path(spec).expanduser().exists():
        raise BackupError(f"There is nothing at {spec}; give the backup folder `backup` printed.")
    if not is_backup_name(name):
        raise BackupError(
            f"'{spec}' is not a backup: give the folder `manage.py backup` printed, whose name "
            "looks like platform-20261207T120000Z or tenant-acme-20261207T120000Z."
        )
    return parse(parent or "."), name
