"""Issue 15: a long chain of metadata steps, whose images the builder makes by appending to the previous step's
history instead of decoding and re-encoding it (build/chain.py), still gives what Docker's classic builder
gives: a step container per step, `docker history`, the `.Parent` chain and `images -a` intermediates, image
IDs that are the sha256 of the stored configs, cache hits (and new steps after them), and an `rmi -f` of the
tag that removes the whole chain. Driven by the docker CLI."""
from __future__ import annotations

import hashlib
import json
import tarfile

from .test_build import image_id, write

STEPS = 60


def step_line(i: int) -> str:
    if i % 20 == 0:
        return "RUN true"
    return f"ENV S{i % 7}={i}" if i % 2 else f"LABEL step{i % 5}={i}"


def created_by(i: int) -> str:
    line = step_line(i)
    return "/bin/sh -c true" if line == "RUN true" else f"/bin/sh -c #(nop)  {line}"


def dockerfile(steps: int) -> str:
    return "FROM busybox\nMAINTAINER chain <c@example>\n" + "".join(step_line(i) + "\n" for i in range(1, steps + 1))


def history(daemon, ref: str) -> list[str]:
    return daemon.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", ref).stdout.splitlines()


def saved_config(daemon, ref: str, tmp_path) -> tuple[bytes, str]:
    tar = tmp_path / "saved.tar"
    daemon.docker("save", "-o", str(tar), ref)
    with tarfile.open(tar) as t:
        name = json.load(t.extractfile("manifest.json"))[0]["Config"]
        return t.extractfile(name).read(), name


def test_a_chain_of_metadata_steps_keeps_history_parents_ids_and_cache(daemon, tmp_path):
    images_before = set(daemon.docker("images", "-aq", "--no-trunc").stdout.split())
    base_history = history(daemon, "busybox")
    ctx = write(tmp_path / "chain", {"Dockerfile": dockerfile(STEPS)})
    try:
        out = daemon.docker("build", "-t", "chain:test", str(ctx)).stdout
        # every step after FROM runs in a container of its own, removed after it
        assert out.count(" ---> Running in ") == STEPS + 1
        assert out.count("Removing intermediate container ") == STEPS + 1
        final = image_id(daemon, "chain:test")

        # docker history: the steps, newest first, over busybox's own history
        expected = [created_by(i) for i in range(STEPS, 0, -1)] + ["/bin/sh -c #(nop)  MAINTAINER chain <c@example>"]
        assert history(daemon, "chain:test") == expected + base_history

        # .Parent walks the steps back to busybox; every step's image is an intermediate of `images -a`
        listed_all = set(daemon.docker("images", "-aq", "--no-trunc").stdout.split())
        chain, current = [], final
        while current != image_id(daemon, "busybox"):
            chain.append(current)
            assert current in listed_all
            current = daemon.docker("image", "inspect", "-f", "{{.Parent}}", current).stdout.strip()
            assert current, "the chain ended before busybox"
        assert len(chain) == STEPS + 1

        # the ID is the sha256 of the config as stored; its history and layers are the steps'
        data, _ = saved_config(daemon, "chain:test", tmp_path)
        assert "sha256:" + hashlib.sha256(data).hexdigest() == final
        config = json.loads(data)
        assert [h["created_by"] for h in config["history"]][-STEPS:] == [created_by(i) for i in range(1, STEPS + 1)]
        assert all(h.get("author") == "chain <c@example>" for h in config["history"][-STEPS:])
        labels = {}
        for i in range(1, STEPS + 1):
            if step_line(i).startswith("LABEL"):
                labels[f"step{i % 5}"] = str(i)
        assert config["config"]["Labels"] == labels
        # `RUN true` changes no file: an empty layer, as every metadata step's
        assert all(h.get("empty_layer") for h in config["history"][-STEPS:])
        assert config["rootfs"] == json.loads(saved_config(daemon, "busybox", tmp_path)[0])["rootfs"]

        # the same Dockerfile again: every step a cache hit, the same image
        again = daemon.docker("build", "-t", "chain:test", str(ctx)).stdout
        assert again.count(" ---> Using cache") == STEPS + 1 and " ---> Running in " not in again
        assert image_id(daemon, "chain:test") == final

        # more steps on the cached ones: the new steps continue the cached image's history
        write(ctx, {"Dockerfile": dockerfile(STEPS) + "ENV AFTER=cache\nLABEL after=cache\n"})
        longer = daemon.docker("build", "-t", "chain:longer", str(ctx)).stdout
        assert longer.count(" ---> Using cache") == STEPS + 1 and longer.count(" ---> Running in ") == 2
        assert history(daemon, "chain:longer") == \
            ["/bin/sh -c #(nop)  LABEL after=cache", "/bin/sh -c #(nop)  ENV AFTER=cache"] + expected + base_history
        longer_data, _ = saved_config(daemon, "chain:longer", tmp_path)
        assert "sha256:" + hashlib.sha256(longer_data).hexdigest() == image_id(daemon, "chain:longer")
        daemon.docker("rmi", "chain:longer")

        # rmi -f of the tag removes the whole chain of intermediates, and nothing else
        daemon.docker("rmi", "-f", "chain:test")
        assert set(daemon.docker("images", "-aq", "--no-trunc").stdout.split()) == images_before
    finally:
        daemon.docker("rmi", "-f", "chain:longer", "chain:test", check=False)


def test_layer_steps_between_metadata_steps_stack_on_the_right_layers(daemon, tmp_path):
    """COPY and a WORKDIR that creates its directory add layers on the image the previous (metadata) step made."""
    ctx = write(tmp_path / "mixed", {"f": "from the context\n", "Dockerfile":
                                     "FROM busybox\nENV A=1\nCOPY f /f\nENV B=2\nWORKDIR /made\nLABEL x=y\n"
                                     "RUN echo ran > /made/ran\nENV C=3\n"})
    try:
        daemon.docker("build", "-t", "chain:mixed", str(ctx))
        assert daemon.docker("run", "--rm", "chain:mixed", "cat", "/f", "ran").stdout == "from the context\nran\n"
        data, _ = saved_config(daemon, "chain:mixed", tmp_path)
        assert "sha256:" + hashlib.sha256(data).hexdigest() == image_id(daemon, "chain:mixed")
        config = json.loads(data)
        base = json.loads(saved_config(daemon, "busybox", tmp_path)[0])
        assert len(config["rootfs"]["diff_ids"]) == len(base["rootfs"]["diff_ids"]) + 3  # COPY, WORKDIR, RUN
        assert [bool(h.get("empty_layer")) for h in config["history"][len(base["history"]):]] == \
            [True, False, True, False, True, False, True]
        assert config["config"]["Env"][-3:] == ["A=1", "B=2", "C=3"] and config["config"]["WorkingDir"] == "/made"
    finally:
        daemon.docker("rmi", "-f", "chain:mixed", check=False)
