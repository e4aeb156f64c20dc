"""A build step's image config made by appending to its parent's encoded history (build/chain.py) is byte for
byte the config the whole-config encoding gives (the image ID is its sha256), and a config's one member read
without decoding the rest is what json.loads gives."""
import json

import pytest

from dockyard.build import chain
from dockyard.image.configjson import (append_history, canonical_json, encode_with_history, history_items,
                                       member)

BASE = {"architecture": "amd64", "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]}, "created": "2024-01-01T00:00:00Z",
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:ab in / "},
                    {"created": "2024-01-01T00:00:01Z", "created_by": '/bin/sh -c #(nop)  CMD ["sh"]',
                     "empty_layer": True}],
        "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]}}


def whole(parent_config: dict, config: dict, created: str, created_by: str, diff_id, author: str = "") -> bytes:
    """The step's config as the builder encoded it before: the parent's history decoded, appended, re-encoded."""
    history = list(parent_config.get("history") or [])
    entry = {"created": created, "created_by": created_by}
    if diff_id is None:
        entry["empty_layer"] = True
    history.append(entry)
    diff_ids = list(parent_config["rootfs"]["diff_ids"]) + ([diff_id] if diff_id else [])
    cfg = {"architecture": parent_config["architecture"], "os": "linux", "config": config, "created": created,
           "docker_version": "dockyard", "history": history, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    if author:
        cfg["author"] = entry["author"] = author
    return canonical_json(cfg)


def test_a_chain_of_steps_encodes_as_the_whole_configs_do():
    parent, parent_config = chain.Parent.of_config(BASE), BASE
    steps = [({"Env": ["PATH=/bin", "A=é\"\\"]}, "/bin/sh -c #(nop)  ENV A=é\"\\", None, ""),
             ({"Labels": {"history": "[]", "x": "}"}}, "/bin/sh -c #(nop)  LABEL history=[]", None, "me <m@x>"),
             ({"Cmd": ["true"]}, "/bin/sh -c true", "sha256:" + "2" * 64, ""),
             ({}, "/bin/sh -c #(nop) WORKDIR /w", None, "")]
    for n, (config, created_by, diff_id, author) in enumerate(steps):
        created = f"2024-01-02T00:00:0{n}Z"
        child = chain.child_config(parent, config, created, created_by, diff_id, author)
        assert child.data == whole(parent_config, config, created, created_by, diff_id, author)
        decoded = json.loads(child.data)
        assert {k: v for k, v in child.summary.items() if k != "history"} == \
            {k: v for k, v in decoded.items() if k != "history"}
        assert child.parent == chain.Parent.of_config(decoded)  # what the next step takes from it
        parent, parent_config = child.parent, decoded
    assert len(parent_config["history"]) == len(BASE["history"]) + len(steps)
    assert parent.top_chain is not None


def test_the_first_step_from_scratch():
    child = chain.child_config(chain.SCRATCH, {"Env": ["A=1"]}, "2024-01-01T00:00:00Z", "x", None)
    scratch = {"architecture": chain.arch(), "rootfs": {"diff_ids": []}, "history": []}
    assert child.data == whole(scratch, {"Env": ["A=1"]}, "2024-01-01T00:00:00Z", "x", None)
    assert chain.SCRATCH.top_chain is None


@pytest.mark.parametrize("cfg", [{"history": []}, {"a": 1, "history": [{"b": 2}]}, {"history": [1, 2], "z": {}}])
def test_encode_with_history_keeps_the_key_order(cfg):
    assert encode_with_history({**cfg, "history": None}, history_items(cfg["history"])) == canonical_json(cfg)


def test_append_history():
    assert append_history(b"", {"a": 1}) == b'{"a":1}'
    assert append_history(history_items([{"a": 1}]), {"b": "ü"}) == history_items([{"a": 1}, {"b": "ü"}])


@pytest.mark.parametrize("data", [canonical_json(BASE), json.dumps(BASE, indent=2).encode(), b' { "config" : null }',
                                  b"{}", b'{"a": [1, {"config": 2}], "config": {"Cmd": ["x"]}}'])
def test_member_is_what_json_loads_gives(data):
    assert member(data, "config") == json.loads(data).get("config")
    assert member(data, "missing") is None


@pytest.mark.parametrize("data", [b'{"config": ', b'{"a" 1}', b"[1]", b""])
def test_member_of_broken_or_other_json(data):
    try:
        expected = json.loads(data)
    except ValueError:
        with pytest.raises(ValueError):
            member(data, "config")
    else:
        assert member(data, "config") is (expected.get("config") if isinstance(expected, dict) else None)


@pytest.mark.parametrize("prefix", [1, 5, 12, 13, 14, 15, 40, 1000])
def test_member_decoded_from_a_prefix_is_the_same(prefix):
    """Whether `config` ends within the decoded prefix or not, and a multi-byte character cut at its end."""
    data = canonical_json({"os": "ü", "config": {"Env": ["A=ééé"]}, "history": [{"x": "ü" * 50}]})
    assert member(data, "config", prefix=prefix) == json.loads(data)["config"]
    assert member(data, "missing", prefix=prefix) is None
