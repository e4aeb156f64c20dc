"""Dockerfile parser: pure (text in, instructions out), following ../shared/reference/dockerfile/reference.md."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import InvalidParameter

INSTRUCTIONS = {"FROM", "RUN", "CMD", "ENTRYPOINT", "ENV", "ARG", "LABEL", "EXPOSE", "WORKDIR", "USER", "VOLUME",
                "STOPSIGNAL", "HEALTHCHECK", "SHELL", "ONBUILD", "COPY", "ADD", "MAINTAINER"}
DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
FLAG = re.compile(r"^--([a-zA-Z-]+)(?:=(.*))?$")
HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


@dataclass
class Instruction:
    cmd: str                      # upper-case keyword
    args: str                     # the rest of the line, continuations joined
    line: int
    original: str                 # as written, for `Step N/M : ...`
    flags: dict = field(default_factory=dict)
    json: list | None = None      # exec form, when the args are a JSON array of strings
    heredocs: list = field(default_factory=list)  # [(name, body)]

    @property
    def words(self) -> list[str]:
        return split_words(self.args)


@dataclass
class Dockerfile:
    instructions: list[Instruction]
    escape: str = "\\"
    warnings: list[str] = field(default_factory=list)


def parse_error(line: int, message: str) -> InvalidParameter:
    return InvalidParameter(f"dockerfile parse error on line {line}: {message}")


def parse(text: str, filename: str = "Dockerfile") -> Dockerfile:
    lines = text.splitlines()
    escape, warnings = "\\", []
    i = 0
    # Parser directives: only at the very top, before any instruction, comment or blank line.
    while i < len(lines):
        m = DIRECTIVE.match(lines[i])
        if not m:
            break
        key, value = m.group(1).lower(), m.group(2)
        if key == "escape":
            if value not in ("\\", "`"):
                raise parse_error(i + 1, f"invalid escape token '{value}' does not match ` or \\")
            escape = value
        elif key == "syntax":
            warnings.append(f"the syntax directive ({value}) is ignored by the classic builder")
        i += 1
    instructions: list[Instruction] = []
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i + 1
        parts = [raw]
        # Line continuations: an escape char at the end joins the next line (comments inside are dropped).
        while parts[-1].rstrip().endswith(escape) and i + 1 < len(lines):
            parts[-1] = parts[-1].rstrip()[:-1]
            i += 1
            while i < len(lines) and (lines[i].strip().startswith("#") or
                                      (not lines[i].strip() and i + 1 < len(lines))):
                i += 1
            if i < len(lines):
                parts.append(lines[i])
        if parts[-1].rstrip().endswith(escape):
            parts[-1] = parts[-1].rstrip()[:-1]
        logical = " ".join(p.strip() for p in parts if p.strip())
        keyword, _, rest = logical.partition(" ")
        cmd = keyword.upper()
        if cmd not in INSTRUCTIONS:
            raise parse_error(start, f"unknown instruction: {keyword}")
        inst = Instruction(cmd=cmd, args=rest.strip(), line=start, original=logical)
        i += 1
        if cmd in ("RUN", "COPY", "ADD"):
            for dash, _, name in HEREDOC.findall(inst.args):
                body = []
                while i < len(lines) and lines[i].strip() != name:
                    body.append(lines[i].lstrip("\t") if dash else lines[i])
                    i += 1
                if i >= len(lines):
                    raise parse_error(start, f"unterminated heredoc {name}")
                i += 1
                inst.heredocs.append((name, "\n".join(body) + "\n"))
        _finish(inst)
        instructions.append(inst)
    if not instructions:
        raise InvalidParameter(f"the Dockerfile ({filename}) cannot be empty")
    if instructions[0].cmd not in ("FROM", "ARG"):
        raise parse_error(instructions[0].line, "no build stage in current context")
    return Dockerfile(instructions, escape, warnings)


def _finish(inst: Instruction) -> None:
    """Split leading --flags (for the instructions that take them) and detect the JSON form."""
    takes_flags = inst.cmd in ("FROM", "RUN", "COPY", "ADD", "HEALTHCHECK")
    args = inst.args
    if takes_flags:
        while args.startswith("--"):
            word, _, rest = args.partition(" ")
            m = FLAG.match(word)
            if not m:
                raise parse_error(inst.line, f"invalid flag: {word}")
            inst.flags[m.group(1)] = m.group(2) if m.group(2) is not None else "true"
            args = rest.strip()
    inst.args = args
    if inst.cmd in ("RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "VOLUME", "SHELL", "HEALTHCHECK") and args.startswith("["):
        try:
            value = json.loads(args)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                inst.json = value
        except ValueError:
            pass
    if inst.cmd == "SHELL" and inst.json is None:
        raise parse_error(inst.line, "SHELL requires the arguments to be in JSON form")
    if inst.cmd in ("FROM", "WORKDIR", "USER", "STOPSIGNAL", "EXPOSE", "MAINTAINER", "ENV", "LABEL", "ARG") \
            and not args:
        raise parse_error(inst.line, f"{inst.cmd} requires at least one argument")
    if inst.cmd == "FROM":
        words = args.split()
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
            raise parse_error(inst.line, "FROM requires either one or three arguments")
    if inst.cmd in ("ENV", "LABEL", "ARG"):
        parse_key_values(inst)  # blank names and missing values are parse errors, before any step runs
    if inst.cmd in ("COPY", "ADD") and len(inst.json or split_words(args)) < 2 and not inst.heredocs:
        raise parse_error(inst.line, f"{inst.cmd} requires at least two arguments, but only one was provided. "
                                     f"Destination could not be determined.")


def split_words(s: str) -> list[str]:
    """Whitespace-separated words, keeping quoted strings together (quotes removed)."""
    words, cur, quote, i = [], "", None, 0
    in_word = False
    while i < len(s):
        ch = s[i]
        if quote:
            if ch == quote:
                quote = None
            elif ch == "\\" and quote == '"' and i + 1 < len(s):
                i += 1
                cur += s[i]
            else:
                cur += ch
        elif ch in "\"'":
            quote, in_word = ch, True
        elif ch.isspace():
            if in_word:
                words.append(cur)
                cur, in_word = "", False
        elif ch == "\\" and i + 1 < len(s):
            i += 1
            cur += s[i]
            in_word = True
        else:
            cur += ch
            in_word = True
        i += 1
    if in_word:
        words.append(cur)
    return words


def parse_key_values(inst: Instruction) -> list[tuple[str, str]]:
    """ENV/LABEL/ARG pairs: `k=v k2="v 2"`, or the legacy `ENV k v w` form."""
    words = split_words(inst.args)
    if inst.cmd == "ENV" and words and "=" not in words[0]:
        key, _, value = inst.args.partition(" ")
        if not value.strip():
            raise parse_error(inst.line, "ENV must have two arguments")
        return [(key, value.strip())]
    pairs = []
    for w in words:
        k, eq, v = w.partition("=")
        if not k:
            raise parse_error(inst.line, f"{inst.cmd} names can not be blank")
        if not eq and inst.cmd != "ARG":
            raise parse_error(inst.line, f"{inst.cmd} requires key=value pairs: {w}")
        pairs.append((k, v) if eq else (k, None))
    return pairs


_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(word: str, env: dict, escape: str = "\\") -> str:
    """Dockerfile variable substitution: $V, ${V}, ${V:-default}, ${V:+alt}; `\\$` stays literal."""
    out, i = [], 0
    while i < len(word):
        if word[i] == escape and i + 1 < len(word) and word[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        m = _VAR.match(word, i) if word[i] == "$" else None
        if not m:
            out.append(word[i])
            i += 1
            continue
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3)
        value = env.get(name)
        if op in (":-", "-"):
            value = value if (value if op == ":-" else value is not None) else expand(arg or "", env, escape)
        elif op in (":+", "+"):
            value = expand(arg or "", env, escape) if (value if op == ":+" else value is not None) else ""
        out.append(value or "")
        i = m.end()
    return "".join(out)
