"""The Dockerfile parser and .dockerignore matcher: every instruction form and the errors users see."""
import pytest

from dockyard.build import parser
from dockyard.build.dockerignore import Matcher, read_patterns
from dockyard.errors import InvalidParameter


def parse(text):
    return parser.parse(text).instructions


def test_every_instruction_parses_with_line_and_original():
    text = """# comment
FROM --platform=linux/amd64 busybox AS base
ARG V=1 W
ENV A=1 B="two words"
ENV LEGACY value with spaces
LABEL k=v "x y"=z
EXPOSE 80 443/udp
WORKDIR /srv
USER nobody:nogroup
VOLUME ["/data", "/logs"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost || exit 1
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo child
COPY --from=base --chown=1:2 --chmod=644 a b /dst/
ADD --checksum=sha256:00 http://127.0.0.1/x /x
RUN echo hi \\
    && echo there
CMD ["sh"]
ENTRYPOINT exec sleep 1
MAINTAINER someone
"""
    insts = parse(text)
    assert [i.cmd for i in insts] == ["FROM", "ARG", "ENV", "ENV", "LABEL", "EXPOSE", "WORKDIR", "USER", "VOLUME",
                                      "STOPSIGNAL", "HEALTHCHECK", "SHELL", "ONBUILD", "COPY", "ADD", "RUN", "CMD",
                                      "ENTRYPOINT", "MAINTAINER"]
    assert insts[0].flags == {"platform": "linux/amd64"} and insts[0].args == "busybox AS base" and insts[0].line == 2
    assert parser.parse_key_values(insts[1]) == [("V", "1"), ("W", None)]
    assert parser.parse_key_values(insts[2]) == [("A", "1"), ("B", "two words")]
    assert parser.parse_key_values(insts[3]) == [("LEGACY", "value with spaces")]
    assert parser.parse_key_values(insts[4]) == [("k", "v"), ("x y", "z")]
    assert insts[8].json == ["/data", "/logs"]
    assert insts[10].flags == {"interval": "5s", "retries": "3"}
    assert insts[11].json == ["/bin/sh", "-ec"]
    assert insts[13].flags == {"from": "base", "chown": "1:2", "chmod": "644"} and insts[13].words == ["a", "b", "/dst/"]
    assert insts[15].args == "echo hi && echo there" and insts[15].line == 17
    assert insts[16].json == ["sh"] and insts[17].json is None


def test_escape_directive_and_heredoc():
    insts = parse("# escape=`\nFROM busybox\nRUN echo a `\n  b\nRUN <<EOF\necho one\necho two\nEOF\n")
    assert insts[1].args == "echo a b"
    assert insts[2].heredocs == [parser.Heredoc("EOF", "echo one\necho two\n", expand=True)]


def test_syntax_directive_is_ignored_with_a_warning():
    df = parser.parse("# syntax=docker/dockerfile:1\nFROM busybox\n")
    assert df.warnings and "ignored" in df.warnings[0]


@pytest.mark.parametrize("text,message", [
    ("FROM busybox\nFORM x\n", "dockerfile parse error on line 2: unknown instruction: FORM"),
    ("FROM busybox\nSHELL sh -c\n", "dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form"),
    ("FROM a b\n", "dockerfile parse error on line 1: FROM requires either one or three arguments"),
    ("FROM busybox\nCOPY onlyone\n", "COPY requires at least two arguments"),
    ("FROM busybox\nENV =x\n", "ENV names can not be blank"),
    ("FROM busybox\nWORKDIR\n", "WORKDIR requires exactly one argument"),
    ("RUN echo\n", "no build stage in current context"),
    ("# just a comment\n", "the Dockerfile (Dockerfile) cannot be empty"),
    ("FROM busybox\nRUN <<EOF\necho\n", "unterminated heredoc EOF"),
    ("# escape=x\nFROM busybox\n", "invalid escape token"),
])
def test_errors_name_the_line(text, message):
    with pytest.raises(InvalidParameter) as err:
        parser.parse(text)
    assert message in str(err.value)


@pytest.mark.parametrize("word,expected", [
    ("$A", "1"), ("${A}b", "1b"), ("${MISSING:-dflt}", "dflt"), ("${A:-dflt}", "1"), ("${A:+alt}", "alt"),
    ("${MISSING:+alt}", ""), ("\\$A", "$A"), ("x${EMPTY:-e}y", "xey"), ("$EMPTY", ""),
])
def test_variable_substitution(word, expected):
    assert parser.expand(word, {"A": "1", "EMPTY": ""}) == expected


@pytest.mark.parametrize("patterns,path,excluded", [
    (["*.key"], "secret.key", True),
    (["*.key"], "dir/secret.key", False),          # Go's filepath.Match: * does not cross /
    (["**/*.key"], "dir/secret.key", True),
    (["logs"], "logs/a.log", True),                # excluding a dir excludes what is inside
    (["logs/*.log", "!logs/keep.log"], "logs/keep.log", False),
    (["logs/*.log", "!logs/keep.log"], "logs/a.log", True),
    (["!keep", "*"], "keep", True),                # the last matching rule wins
    (["/abs/path"], "abs/path", True),
    (["?.txt"], "a.txt", True),
    (["[ab].txt"], "c.txt", False),
])
def test_dockerignore_matching(patterns, path, excluded):
    assert Matcher(read_patterns("\n".join(patterns))).excluded(path) is excluded


@pytest.mark.parametrize("word,expected", [
    ("${MISSING:-${A}}", "1"), ("${MISSING:-${ALSO:-deep}}", "deep"), ("${A:+${EMPTY:-e}x}", "ex"),
    ("${MISSING:-a\\}b}", "a}b"), ("${A-unset}", "1"), ("${EMPTY-unset}", ""), ("${EMPTY:-empty}", "empty"),
    ("${MISSING+set}", ""), ("${EMPTY+set}", "set"), ("${A", "${A"), ("$", "$"), ("${A:?x}", "1"),
])
def test_nested_and_unset_vs_empty_substitution(word, expected):
    assert parser.expand(word, {"A": "1", "EMPTY": ""}) == expected


@pytest.mark.parametrize("text,message", [
    ("FROM busybox\nCOPY --frm=x a b\n", "dockerfile parse error on line 2: Unknown flag: frm"),
    ("FROM busybox\nWORKDIR --x=1 /a\n", "dockerfile parse error on line 2: Unknown flag: x"),
    ("FROM busybox\nADD --from=x a b\n", "dockerfile parse error on line 2: Unknown flag: from"),
    ("FROM busybox\nCOPY --from a b\n", "dockerfile parse error on line 2: Missing a value on flag: from"),
    ("FROM busybox\nCOPY --chmod=u+x a b\n",
     "dockerfile parse error on line 2: invalid chmod parameter: 'u+x'. it should be octal string"),
    ("FROM busybox\nCOPY --chmod=8 a b\n", "invalid chmod parameter: '8'"),
])
def test_flags_docker_does_not_accept(text, message):
    with pytest.raises(InvalidParameter) as err:
        parser.parse(text)
    assert message in str(err.value)


@pytest.mark.parametrize("line,message", [
    ("RUN --mount=type=cache,target=/c true",
     "the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/"),
    ("RUN --network=none --mount=type=tmpfs,target=/t true", "the --network option requires BuildKit"),
    ("COPY --parents a b", "the --parents option requires BuildKit"),
    ("ADD --exclude=*.md a b", "the --exclude option requires BuildKit"),
])
def test_buildkit_only_flags_parse_and_are_refused_at_their_step(line, message):
    inst = parse(f"FROM busybox\n{line}\n")[1]  # the Dockerfile parses: the steps before it run
    with pytest.raises(InvalidParameter) as err:
        parser.refuse_buildkit_only_flags(inst)
    assert message in str(err.value)


def test_link_is_a_hint_the_classic_builder_ignores():
    inst = parse("FROM busybox\nCOPY --link a b\n")[1]
    parser.refuse_buildkit_only_flags(inst)
    assert inst.flags == {"link": "true"} and inst.words == ["a", "b"]


def test_known_flags_still_parse():
    insts = parse("FROM --platform=linux/amd64 busybox\nCOPY --chmod=0755 --chown=1:1 a b\n"
                  "ADD --checksum=sha256:00 --chown=1 http://x/y /y\n"
                  "HEALTHCHECK --start-interval=1s --timeout=2s CMD true\n")
    assert insts[1].flags == {"chmod": "0755", "chown": "1:1"}
    assert insts[2].flags == {"checksum": "sha256:00", "chown": "1"}
    assert insts[3].flags == {"start-interval": "1s", "timeout": "2s"}


def test_several_heredocs_and_quoted_delimiters():
    insts = parse("FROM busybox\nRUN <<ONE cat > /one && <<-\"TWO\" cat > /two\nfirst\nONE\n\tsecond\nTWO\n"
                  "COPY <<EOF <<'RAW' /dst/\n$X\nEOF\n$Y\nRAW\nRUN echo after\n")
    assert insts[1].heredocs == [parser.Heredoc("ONE", "first\n", expand=True),
                                 parser.Heredoc("TWO", "second\n", expand=False)]
    assert [(h.name, h.expand) for h in insts[2].heredocs] == [("EOF", True), ("RAW", False)]
    assert insts[2].words == ["<<EOF", "<<RAW", "/dst/"] and insts[3].args == "echo after"
    assert parser.is_heredoc("<<-'EOF'") and parser.heredoc_name("<<-'EOF'") == "EOF"
    assert not parser.is_heredoc("<<EOF cat")
