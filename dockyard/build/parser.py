"""Dockerfile parser: pure (text in, instructions out), following ../shared/reference/dockerfile/reference.md."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from ..errors import InvalidParameter
from .. import gofmt

INSTRUCTIONS = {"FROM", "RUN", "CMD", "ENTRYPOINT", "ENV", "ARG", "LABEL", "EXPOSE", "WORKDIR", "USER", "VOLUME",
                "STOPSIGNAL", "HEALTHCHECK", "SHELL", "ONBUILD", "COPY", "ADD", "MAINTAINER"}
DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
FLAG = re.compile(r"^--([a-zA-Z-]+)(?:=(.*))?$")
HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
# The flags each instruction accepts (as BuildKit's instruction parser knows them); any other is an error.
KNOWN_FLAGS = {
    "FROM": {"platform"},
    "RUN": {"mount", "network", "security"},
    "COPY": {"from", "chown", "chmod", "link", "parents", "exclude"},
    "ADD": {"chown", "chmod", "checksum", "keep-git-dir", "link", "exclude"},
    "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"},
}
BOOL_FLAGS = {"link", "parents", "keep-git-dir"}
# Known to Docker, but only BuildKit implements them: the classic builder refuses them when it reaches the
# step (`--link`, only a hint about layer reuse, it ignores; so do we).
BUILDKIT_ONLY_FLAGS = {"RUN": {"mount", "network", "security"}, "COPY": {"parents", "exclude"},
                       "ADD": {"keep-git-dir", "exclude"}}
STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*")
BUILDKIT_HINT = "Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled"


class Heredoc(NamedTuple):
    name: str
    body: str
    expand: bool   # an unquoted delimiter: the body is subject to variable expansion


@dataclass
class Instruction:
    cmd: str                      # upper-case keyword
    args: str                     # the rest of the line, continuations joined
    line: int
    original: str                 # as written, for `Step N/M : ...`
    flags: dict = field(default_factory=dict)
    json: list | None = None      # exec form, when the args are a JSON array of strings
    heredocs: list = field(default_factory=list)  # [Heredoc]
    pairs: list | None = None     # key/value pairs taken literally (a `--label` option's LABEL step)

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
            i = _read_heredocs(inst, lines, i)
        _finish(inst)
        instructions.append(inst)
    if not instructions:
        raise InvalidParameter(f"the Dockerfile ({filename}) cannot be empty")
    if instructions[0].cmd not in ("FROM", "ARG"):
        raise parse_error(instructions[0].line, "no build stage in current context")
    return Dockerfile(instructions, escape, warnings)


def _read_heredocs(inst: Instruction, lines: list[str], i: int) -> int:
    """Collect the bodies of the heredocs the instruction opens, in order; returns the next line index."""
    for dash, quote, name in HEREDOC.findall(inst.args):
        body = []
        while i < len(lines) and lines[i].strip() != name:
            body.append(lines[i].lstrip("\t") if dash else lines[i])
            i += 1
        if i >= len(lines):
            raise parse_error(inst.line, f"unterminated heredoc {name}")
        i += 1
        inst.heredocs.append(Heredoc(name, "\n".join(body) + "\n", expand=not quote))
    return i


def is_heredoc(word: str) -> bool:
    """A COPY/ADD source or a whole RUN command that is just a heredoc marker (`<<EOF`, `<<-"EOF"`)."""
    return HEREDOC.fullmatch(word.strip()) is not None


def heredoc_name(word: str) -> str:
    return HEREDOC.fullmatch(word.strip()).group(3)


def _split_flags(inst: Instruction) -> str:
    """Move leading --flags into inst.flags (every instruction may carry them, as in Docker's parser);
    returns the rest of the arguments. Unknown flags are errors."""
    args = inst.args
    while args.startswith("--"):
        word, _, rest = args.partition(" ")
        m = FLAG.match(word)
        if not m:
            raise parse_error(inst.line, f"invalid flag: {word}")
        name, value = m.group(1), m.group(2)
        if name not in KNOWN_FLAGS.get(inst.cmd, ()):
            raise parse_error(inst.line, f"Unknown flag: {name}")
        if value is None and name not in BOOL_FLAGS:
            raise parse_error(inst.line, f"Missing a value on flag: {name}")
        inst.flags[name] = value if value is not None else "true"
        args = rest.strip()
    return args


def refuse_buildkit_only_flags(inst: Instruction) -> None:
    """At the instruction's step, as the classic builder does: the first BuildKit-only flag it carries."""
    for name in inst.flags:
        if name in BUILDKIT_ONLY_FLAGS.get(inst.cmd, ()):
            raise InvalidParameter(f"the --{name} option requires BuildKit. {BUILDKIT_HINT}")


def _check_chmod(inst: Instruction) -> None:
    """--chmod takes an octal mode only: symbolic modes (u+x) are a BuildKit feature."""
    value = inst.flags.get("chmod")
    if value is None:
        return
    if not re.fullmatch(r"[0-7]{1,4}", value):
        raise parse_error(inst.line, f"invalid chmod parameter: '{value}'. it should be octal string and "
                                     f"between 0 and 07777")


def _finish(inst: Instruction) -> None:
    """Split leading --flags and detect the JSON form."""
    args = inst.args = _split_flags(inst)
    _check_chmod(inst)
    if inst.cmd in ("RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "VOLUME", "SHELL", "HEALTHCHECK") and args.startswith("["):
        try:
            value = json.loads(args)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                inst.json = value
        except ValueError:
            pass
    if inst.cmd == "SHELL" and inst.json is None:
        raise parse_error(inst.line, "SHELL requires the arguments to be in JSON form")
    if inst.cmd in ("WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER") and not args:
        raise parse_error(inst.line, f"{inst.cmd} requires exactly one argument")
    if inst.cmd in ("EXPOSE", "ENV", "LABEL", "ARG", "VOLUME", "ONBUILD", "HEALTHCHECK") and not args:
        raise parse_error(inst.line, f"{inst.cmd} requires at least one argument")
    if inst.cmd == "FROM":
        words = args.split()
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
            raise parse_error(inst.line, "FROM requires either one or three arguments")
        if len(words) == 3 and not STAGE_NAME.fullmatch(words[2].lower()):
            raise parse_error(inst.line, f'invalid name for build stage: "{words[2]}", name can\'t start with a '
                                         f'number or contain symbols')
    if inst.cmd == "ONBUILD":
        _check_trigger(inst, args)
    if inst.cmd == "VOLUME" and any(not v.strip() for v in (inst.json if inst.json is not None else split_words(args))):
        raise parse_error(inst.line, "VOLUME specified can not be an empty string")
    if inst.cmd == "HEALTHCHECK":
        _check_healthcheck(inst, args)
    if inst.cmd in ("ENV", "LABEL", "ARG"):
        parse_key_values(inst)  # blank names and missing values are parse errors, before any step runs
    if inst.cmd in ("COPY", "ADD") and len(inst.json or split_words(args)) < 2 and not inst.heredocs:
        raise parse_error(inst.line, f"{inst.cmd} requires at least two arguments, but only one was provided. "
                                     f"Destination could not be determined.")


def _check_trigger(inst: Instruction, args: str) -> None:
    trigger = args.split(None, 1)[0].upper()
    if trigger == "ONBUILD":
        raise parse_error(inst.line, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("FROM", "MAINTAINER"):
        raise parse_error(inst.line, f"{trigger} isn't allowed as an ONBUILD trigger")


MIN_HEALTHCHECK_INTERVAL_NS = 1_000_000  # moby's container.MinimumDuration (1ms)


def _check_healthcheck(inst: Instruction, args: str) -> None:
    """Docker's parser: NONE alone, else CMD and a command; durations of at least 1ms (0 = the default);
    retries not negative."""
    from ..units import parse_duration

    kind, _, rest = args.partition(" ")
    kind = kind.upper()
    if kind == "NONE":
        if rest.strip():
            raise parse_error(inst.line, "HEALTHCHECK NONE takes no arguments")
        return
    if kind != "CMD":
        raise parse_error(inst.line, f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    if not rest.strip() or rest.strip() == "[]":
        raise parse_error(inst.line, "Missing command after HEALTHCHECK CMD")
    for name in ("interval", "timeout", "start-period", "start-interval"):
        value = inst.flags.get(name)
        if not value:
            continue
        try:
            ns = parse_duration(value) * 1e9
        except ValueError as err:
            raise parse_error(inst.line, str(err)) from None
        if 0 < ns < MIN_HEALTHCHECK_INTERVAL_NS:
            raise parse_error(inst.line, f'Interval "{name}" cannot be less than 1ms')
    retries = inst.flags.get("retries")
    if retries is not None:
        if not re.fullmatch(r"[+-]?[0-9]+", retries):
            raise parse_error(inst.line, f'strconv.ParseInt: parsing "{retries}": invalid syntax')
        if int(retries) < 0:
            raise parse_error(inst.line, f"--retries cannot be negative ({int(retries)})")


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
            raise parse_error(inst.line, f"Syntax error - can't find = in {gofmt.quote(w)}. Must be of the form: "
                                         f"name=value")
        pairs.append((k, v) if eq else (k, None))
    return pairs


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expand(word: str, env: dict, escape: str = "\\") -> str:
    """Dockerfile variable substitution: $V, ${V}, ${V:-default}, ${V:+alt}, ${V:?error} (and -, +, ? without
    the colon),
    defaults that nest (`${A:-${B}}`); `\\$` stays a literal `$`."""
    return _expand_until(word, 0, env, escape, stop=None)[0]


def _expand_until(word: str, i: int, env: dict, escape: str, stop: str | None) -> tuple[str, int] | tuple[None, int]:
    """Expand from i up to an unescaped `stop` (or the end); returns (text, index of stop) or (None, i) when
    `stop` never comes."""
    out = []
    while i < len(word):
        ch = word[i]
        if stop is not None and ch == stop:
            return "".join(out), i
        if ch == escape and i + 1 < len(word) and (word[i + 1] == "$" or word[i + 1] == stop):
            out.append(word[i + 1])
            i += 2
        elif ch == "$":
            text, i = _variable(word, i, env, escape)
            out.append(text)
        else:
            out.append(ch)
            i += 1
    return ("".join(out), i) if stop is None else (None, i)


def _variable(word: str, i: int, env: dict, escape: str) -> tuple[str, int]:
    """The value of the variable reference starting at word[i] == "$", and the index after it; a `$` that
    starts no valid reference stays literal."""
    if i + 1 < len(word) and word[i + 1] == "{":
        m = _NAME.match(word, i + 2)
        if not m:
            return "$", i + 1
        name, j = m.group(0), m.end()
        if word.startswith("}", j):
            return env.get(name) or "", j + 1
        op = next((o for o in (":-", ":+", ":?", "-", "+", "?") if word.startswith(o, j)), None)
        if op is None:
            return "$", i + 1
        arg, end = _expand_until(word, j + len(op), env, escape, stop="}")
        if arg is None:
            return "$", i + 1
        value = env.get(name)
        is_set = bool(value) if op.startswith(":") else value is not None
        if op.endswith("-"):
            return (value if is_set else arg), end + 1
        if op.endswith("?"):  # ${V:?message}: the build stops when V is unset (or, with the colon, empty)
            if not is_set:
                default = "is not allowed to be unset" if value is None else "is not allowed to be empty"
                raise InvalidParameter(f"{name}: {arg or default}")
            return value, end + 1
        return (arg if is_set else ""), end + 1
    m = _NAME.match(word, i + 1)
    if not m:
        return "$", i + 1
    return env.get(m.group(0)) or "", m.end()
