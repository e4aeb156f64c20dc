"""gojson.py: request bodies checked in the words of Go's encoding/json."""
from __future__ import annotations

import pytest

from dockyard.api.body_schemas import SCHEMAS
from dockyard.gojson import Map, Slice, StrSlice, Struct, check, depth
from dockyard.errors import InvalidParameter

INNER = Struct("pkg.Inner", {"N": "goint", "U": "uint"})
OUTER = Struct("pkg.Outer", {"S": "string", "B": "bool", "L": Slice("string"), "M": Map("string"),
                             "I": INNER, "Items": Slice(INNER), "Cmd": StrSlice()})


def message(body) -> str:
    with pytest.raises(InvalidParameter) as err:
        check(body, OUTER)
    return str(err.value)


@pytest.mark.parametrize("body, expected", [
    ([], "json: cannot unmarshal array into Go value of type pkg.Outer"),
    ({"S": 1}, "json: cannot unmarshal number into Go struct field Outer.S of type string"),
    ({"B": "true"}, "json: cannot unmarshal string into Go struct field Outer.B of type bool"),
    ({"L": "x"}, "json: cannot unmarshal string into Go struct field Outer.L of type []string"),
    ({"L": [1]}, "json: cannot unmarshal number into Go struct field Outer.L of type string"),
    ({"M": {"k": []}}, "json: cannot unmarshal array into Go struct field Outer.M of type string"),
    ({"I": {"N": 1.5}}, "json: cannot unmarshal number 1.5 into Go struct field Inner.I.N of type int"),
    ({"Items": [{"U": -1}]}, "json: cannot unmarshal number -1 into Go struct field Inner.Items.U of type uint64"),
    ({"I": {"N": 1 << 63}}, f"json: cannot unmarshal number {1 << 63} into Go struct field Inner.I.N of type int"),
    ({"s": 2}, "json: cannot unmarshal number into Go struct field Outer.S of type string"),  # case-insensitive
])
def test_type_errors_in_gos_words(body, expected):
    assert message(body) == expected


def test_what_go_accepts():
    check({"S": None, "L": None, "I": None, "Cmd": "one string", "Unknown": [1, {"x": 2}], "U": 0}, OUTER)
    check({"Cmd": ["a", "b"], "Items": [{"N": -5, "U": (1 << 64) - 1}]}, OUTER)


def test_depth_walks_without_recursion():
    deep = []
    for _ in range(5000):
        deep = [deep]
    assert depth(deep, 100) and not depth({"a": [[1]]}, 3) and depth({"a": [[1]]}, 2)


def test_every_schema_is_a_struct_of_known_types():
    for route, schema in SCHEMAS.items():
        check({}, schema)  # an empty body decodes into every one of them
        assert isinstance(schema, Struct) and "." in schema.go, route


def test_query_json_types():
    with pytest.raises(InvalidParameter) as err:
        check(["a"], Map("string", go="map[string]*string"), prefix="error reading build args: ")
    assert str(err.value) == ("error reading build args: json: cannot unmarshal array into Go value of type "
                              "map[string]*string")
    check({"A": None}, Map("string", go="map[string]*string"))
