"""Parse errors Docker's Dockerfile parser reports before any step runs, in its words (audit of the classic
builder against moby/buildkit's instructions parser)."""
from __future__ import annotations

import pytest

from dockyard.build import parser
from dockyard.errors import InvalidParameter


@pytest.mark.parametrize("text,message", [
    ("FROM busybox\nONBUILD ONBUILD RUN true\n", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM busybox\nONBUILD from busybox\n", "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM busybox\nONBUILD MAINTAINER me\n", "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("FROM busybox AS 1st\n", 'invalid name for build stage: "1st", name can\'t start with a number or contain symbols'),
    ("FROM busybox AS a$b\n", 'invalid name for build stage: "a$b"'),
    ("FROM\n", "FROM requires either one or three arguments"),
    ("FROM busybox\nUSER\n", "USER requires exactly one argument"),
    ("FROM busybox\nSTOPSIGNAL\n", "STOPSIGNAL requires exactly one argument"),
    ("FROM busybox\nVOLUME \"\"\n", "VOLUME specified can not be an empty string"),
    ('FROM busybox\nVOLUME ["/a", " "]\n', "VOLUME specified can not be an empty string"),
    ("FROM busybox\nHEALTHCHECK NONE now\n", "HEALTHCHECK NONE takes no arguments"),
    ("FROM busybox\nHEALTHCHECK curl localhost\n", 'Unknown type "CURL" in HEALTHCHECK (try CMD)'),
    ("FROM busybox\nHEALTHCHECK CMD\n", "Missing command after HEALTHCHECK CMD"),
    ("FROM busybox\nHEALTHCHECK --timeout=10us CMD true\n", 'Interval "timeout" cannot be less than 1ms'),
    ("FROM busybox\nHEALTHCHECK --interval=soon CMD true\n", 'time: invalid duration "soon"'),
    ("FROM busybox\nHEALTHCHECK --retries=-2 CMD true\n", "--retries cannot be negative (-2)"),
])
def test_docker_refuses_these_when_it_parses(text, message):
    with pytest.raises(InvalidParameter) as err:
        parser.parse(text)
    assert str(err.value).startswith("dockerfile parse error on line ")
    assert message in str(err.value)


@pytest.mark.parametrize("text", [
    "FROM busybox AS Build-Stage_1.x\n",            # names are matched lower-cased
    "FROM busybox\nHEALTHCHECK --interval=0s --retries=0 CMD true\n",   # 0 means the default
    'FROM busybox\nHEALTHCHECK CMD ["true"]\n',
    "FROM busybox\nONBUILD RUN echo onbuild\n",
])
def test_what_docker_accepts_still_parses(text):
    parser.parse(text)
