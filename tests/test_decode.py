"""Encoding detection and strict decoding on whole files."""

from __future__ import annotations

import codecs

import opencc
import pytest

from analysis import config
from analysis.decode import decode_bytes, detect_encoding, split_lines
from analysis.errors import InputError

SEED_TEXT = (config.RAW_DIR / "egov_policies_2013_2019.txt").read_text(encoding="utf-8")
SIMPLIFIED = opencc.OpenCC("t2s").convert(SEED_TEXT)


@pytest.mark.parametrize(
    "text,encoding,expected",
    [
        (SEED_TEXT, "utf-8", "utf-8"),
        (SEED_TEXT, "utf-8-sig", "utf-8-sig"),
        (SEED_TEXT, "gb18030", "gb18030"),
        (SEED_TEXT, "cp950", "cp950"),
        (SEED_TEXT, "big5hkscs", "cp950"),
        (SEED_TEXT, "utf-16", "utf-16"),
        (SEED_TEXT, "utf-16-le", "utf-16-le"),
        (SEED_TEXT, "utf-16-be", "utf-16-be"),
        (SIMPLIFIED, "gbk", "gb18030"),
        (SIMPLIFIED, "utf-8", "utf-8"),
    ],
)
def test_whole_files_decode_to_the_original_text(text, encoding, expected):
    data = text.encode(encoding)
    assert detect_encoding(data) == expected
    decoded, used = decode_bytes(data, "f.txt")
    assert decoded == text and used == expected


def test_bom_is_dropped_and_explicit_encoding_wins():
    data = codecs.BOM_UTF8 + "2014年\n".encode()
    assert decode_bytes(data, "f")[0] == "2014年\n"
    assert decode_bytes("2014年\n".encode("gb18030"), "f", encoding="gbk")[0] == "2014年\n"
    with pytest.raises(InputError, match="unknown encoding"):
        decode_bytes(b"x", "f", encoding="no-such-codec")


def test_utf8_with_a_corrupt_byte_is_an_error_not_mojibake():
    lines = SEED_TEXT.split("\n")
    corrupt = ("\n".join(lines[:9]) + "\n").encode() + b"\xff" + ("\n".join(lines[9:])).encode()
    with pytest.raises(InputError) as err:
        decode_bytes(corrupt, "f.txt")
    assert err.value.line == 10 and "utf-8" in err.value.message


def test_line_ends_lf_crlf_cr():
    assert split_lines("a\r\nb\rc\nd\u2028e") == ["a", "b", "c", "d\u2028e"]
    # LF only (split without the regex): same rules, the final line end ends the last line
    assert split_lines("a\n\nd\u2028e\x0cf\n") == ["a", "", "d\u2028e\x0cf"]
    assert split_lines("") == [] and split_lines("\n") == [""]
