from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tray_agent.envstore import format_line, parse_dotenv, value_problem


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


# Every value a process environment can hold (no NUL, no lone surrogate).
VALUES = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(NAMES, VALUES, max_size=6))
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


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(NAMES, st.text()), max_size=6, unique_by=lambda t: t[0]))
def test_every_entry_parsed_can_be_given_to_a_process(pairs: list[tuple[str, str]]) -> None:
    text = "".join(format_line(k, v) + "\n" for k, v in pairs)
    result = parse_dotenv(text)
    for entry in result.entries:
        assert value_problem(entry.name, entry.value) is None
    refused = {s.name for s in result.skipped}
    assert refused == {k for k, v in pairs if value_problem(k, v) is not None}


def test_impossible_values_are_skipped_with_their_line() -> None:
    text = 'A=ok\nB="nul\0here"\nC=' + "x" * 40000 + "\nD=fine\n"
    result = parse_dotenv(text)
    assert values(text) == {"A": "ok", "D": "fine"}
    reasons = {s.line: (s.name, s.reason) for s in result.skipped}
    assert reasons[2][0] == "B" and "NUL" in reasons[2][1]
    assert reasons[3][0] == "C" and "too long" in reasons[3][1]
    assert result.skipped[0].format("team.env").startswith("team.env:2: B: ")


def test_line_numbers_after_multi_line_values() -> None:
    text = 'A="one\ntwo\nthree"\n\n9BAD=1\nB="x\ny"\nC-D=2\n'
    assert [s.line for s in parse_dotenv(text).skipped] == [5, 8]
