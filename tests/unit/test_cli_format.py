"""The docker CLI's orderings and encodings that our CLI reproduces."""
import io

from dockyard.cli.format import go_json, go_time_string, natural_key, table


def test_natural_order_is_sortorders():
    names = ["b", "a10", "a9", "a09", "10", "010", "1", "9bb4", "1968a", "_x"]
    assert sorted(names, key=natural_key) == ["1", "9bb4", "10", "010", "1968a", "_x", "a9", "a09", "a10", "b"]


def test_go_json_escapes_html_and_keeps_utf8():
    assert go_json({"a": "<none> & …"}) == '{"a":"\\u003cnone\\u003e \\u0026 …"}'


def test_go_time_string_trims_fraction_zeros():
    assert go_time_string("2024-01-02T03:04:05.120000000Z") == "2024-01-02 03:04:05.12 +0000 UTC"
    assert go_time_string("2024-01-02T03:04:05Z") == "2024-01-02 03:04:05 +0000 UTC"


def test_table_keeps_the_padding_before_an_empty_last_column():
    out = io.StringIO()
    table([["IMAGE", "SIZE", "COMMENT"], ["abc", "0B", ""]], out)
    assert out.getvalue() == "IMAGE     SIZE      COMMENT\nabc       0B        \n"  # as text/tabwriter writes it
