from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tray_agent.envstore import format_line, parse_dotenv


def values(text: str) -> dict[str, str]:
    return {e.name: e.value for e in parse_dotenv(text).entries}


def test_common_forms() -> None:
    text = (
        "# comment\n"
        "\n"
        "PLAIN=value\n"
        "export EXPORTED=yes\n"
        "SPACED = around  \n"
        "TRAILING=abc # a comment\n"
        "HASH=abc#not-a-comment\n"
        "SINGLE='lit\\n $HOME'\n"
        'DOUBLE="a\\nb\\t\\"q\\" \\\\ \\$x"  # done\n'
        "EMPTY=\n"
        'EMPTY_QUOTED=""\n'
        'MULTI="line1\n'
        'line2"\n'
        "AFTER=ok\r\n"
    )
    assert values(text) == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SPACED": "around",
        "TRAILING": "abc",
        "HASH": "abc#not-a-comment",
        "SINGLE": "lit\\n $HOME",
        "DOUBLE": 'a\nb\t"q" \\ $x',
        "EMPTY": "",
        "EMPTY_QUOTED": "",
        "MULTI": "line1\nline2",
        "AFTER": "ok",
    }
    assert parse_dotenv(text).skipped == []


def test_skipped_entries_say_why_with_line_numbers() -> None:
    text = (
        "GOOD=1\n"
        "1BAD=x\n"
        "no equals sign\n"
        'OPEN="never closed\n'
        "LITELLM_BRIDGE_PORT=1\n"
        "LITELLM_MASTER_KEY=sk\n"
        "AFTER='x' trailing\n"
        "=novalue\n"
        "GOOD=2\n"
    )
    result = parse_dotenv(text)
    assert {e.name: e.value for e in result.entries} == {"GOOD": "2"}
    reasons = {s.line: s.reason for s in result.skipped}
    assert "not a valid name" in reasons[2]
    assert reasons[3].startswith("syntax error")
    assert "unterminated" in reasons[4]
    assert "reserved" in reasons[5] and "reserved" in reasons[6]
    assert "after the closing quote" in reasons[7]
    assert "missing name" in reasons[8]
    assert "set again on line 9" in reasons[1]
    assert all(s.format().startswith(f"line {s.line}") for s in result.skipped)


def test_bom_is_ignored() -> None:
    assert values("\ufeffA=1\n") == {"A": "1"}


NAMES = st.from_regex(r"[A-Z_][A-Z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: not n.startswith("LITELLM_BRIDGE_") and n != "LITELLM_MASTER_KEY"
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(NAMES, st.text(), max_size=6))
def test_format_then_parse_round_trips(entries: dict[str, str]) -> None:
    text = "\n".join(format_line(k, v) for k, v in entries.items()) + "\n"
    expected = {k: v for k, v in entries.items()}
    assert values(text) == expected
    assert parse_dotenv(text).skipped == []


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_never_raises(text: str) -> None:
    result = parse_dotenv(text)
    for skipped in result.skipped:
        assert skipped.line >= 1 and skipped.reason
