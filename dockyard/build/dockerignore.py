""".dockerignore: Go filepath.Match patterns with `**`, `!` exceptions, last match wins (moby/patternmatcher)."""
from __future__ import annotations

import os
import posixpath
import re


def read_patterns(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        body = line[1:].strip() if neg else line
        body = posixpath.normpath(body.lstrip("/")) if body not in ("", ".") else body
        out.append(("!" if neg else "") + body)
    return out


def _regex(pattern: str) -> re.Pattern:
    rx, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern[i:i + 2] == "**":
                i += 2
                if pattern[i:i + 1] == "/":
                    rx += "(.*/)?"
                    i += 1
                else:
                    rx += ".*"
                continue
            rx += "[^/]*"
        elif c == "?":
            rx += "[^/]"
        elif c == "[":
            j = pattern.find("]", i)
            if j < 0:
                rx += re.escape(c)
            else:
                rx += "[" + pattern[i + 1:j].replace("!", "^", 1) + "]"
                i = j
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            rx += re.escape(pattern[i])
        else:
            rx += re.escape(c)
        i += 1
    return re.compile(rx + "$")


class Matcher:
    def __init__(self, patterns: list[str]):
        self.rules = [(p.startswith("!"), _regex(p.lstrip("!"))) for p in patterns]

    def excluded(self, rel_path: str) -> bool:
        """A path is excluded by the last matching rule; a parent dir's exclusion covers its children."""
        parts = rel_path.split("/")
        result = False
        for neg, rx in self.rules:
            for n in range(1, len(parts) + 1):
                if rx.match("/".join(parts[:n])):
                    result = not neg
                    break
        return result


def walk_context(root: str, patterns: list[str]):
    """Relative paths of the context to send, never following symlinks; Dockerfile and .dockerignore always."""
    m = Matcher(patterns)
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in sorted(dirnames + filenames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if m.excluded(rel) and rel not in ("Dockerfile", ".dockerignore"):
                continue
            yield rel
        dirnames.sort()
