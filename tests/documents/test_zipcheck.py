"""Zip-bomb and DTD checks that run before any Office library opens a file."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from documents import filetypes
from documents.extractors.base import ExtractionError
from documents.extractors.registry import extract_file
from documents.extractors.zipcheck import ZipLimits, check_ooxml_zip, check_zip
from tests.documents import samples


def test_normal_office_files_pass(tmp_path: Path) -> None:
    for name, data in [
        ("a.docx", samples.make_docx()),
        ("a.pptx", samples.make_pptx()),
        ("a.xlsx", samples.make_xlsx()),
    ]:
        check_ooxml_zip(samples.write(tmp_path, name, data))


def test_zip_bomb_docx_is_refused_quickly(tmp_path: Path) -> None:
    path = samples.write(tmp_path, "bomb.docx", samples.make_zip_bomb_docx())
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        extract_file(path, filetypes.DOCX)
    assert time.monotonic() - started < 2
    message = caught.value.message
    assert message.startswith("The file expands to ")
    assert "over the 200 MB size limit; it looks like a zip bomb." in message


def test_compression_ratio_limit(tmp_path: Path) -> None:
    path = samples.write(tmp_path, "bomb.docx", samples.make_zip_bomb_docx(expanded_mb=20))
    with pytest.raises(ExtractionError, match=r"over the 100:1 compression limit; it looks like"):
        check_ooxml_zip(path)
    check_ooxml_zip(path, ZipLimits(max_ratio=5_000))


def test_total_size_limit_is_a_parameter(tmp_path: Path) -> None:
    path = samples.write(tmp_path, "a.docx", samples.make_docx())
    with (
        zipfile.ZipFile(path) as archive,
        pytest.raises(ExtractionError, match="over the 1 KB size limit"),
    ):
        check_zip(archive, max_total_bytes=1_000)


def test_too_many_members(tmp_path: Path) -> None:
    path = samples.write(tmp_path, "many.docx", samples.make_many_members_docx(6000))
    with pytest.raises(ExtractionError, match=r"6,0\d\d parts, which is over the 5,000 limit"):
        extract_file(path, filetypes.DOCX)


def test_small_members_may_compress_very_well(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b" " * 500_000)  # ~1000:1 but under 1 MB
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        check_zip(archive)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le"])
def test_any_dtd_in_an_xml_part_is_refused(tmp_path: Path, encoding: str) -> None:
    xml = (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        '<!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        "<root>&b;</root>"
    ).encode(encoding)
    data = samples.replace_member(samples.make_pptx(), "docProps/app.xml", xml)
    path = samples.write(tmp_path, "laughs.pptx", data)
    with pytest.raises(ExtractionError, match="document type declaration"):
        check_ooxml_zip(path)


def test_xxe_docx_never_leaks_passwd(tmp_path: Path) -> None:
    path = samples.write(tmp_path, "xxe.docx", samples.make_xxe_docx())
    with pytest.raises(ExtractionError) as caught:
        extract_file(path, filetypes.DOCX)
    assert samples.PASSWD_MARKER not in str(caught.value)


def test_not_a_zip(tmp_path: Path) -> None:
    path = samples.write(tmp_path, "a.xlsx", b"PK\x03\x04" + bytes(100))
    with pytest.raises(ExtractionError, match="not a valid Office document"):
        check_ooxml_zip(path)
