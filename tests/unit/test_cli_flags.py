"""Go's flag spellings that users type from docker habits, rewritten for click before parsing."""
import click
import pytest

from dockyard.cli import containers, images
from dockyard.cli.group import go_flag_spellings


def test_boolean_flags_take_go_values_and_never_the_next_word():
    assert go_flag_spellings(containers.run, ["-d=false", "--rm=true", "busybox"]) == ["--rm", "busybox"]
    assert go_flag_spellings(images.history, ["-H=false", "busybox"]) == ["--no-human", "busybox"]
    assert go_flag_spellings(containers.attach, ["--sig-proxy=F", "c"]) == ["--sig-proxy", "false", "c"]
    assert go_flag_spellings(containers.attach, ["--sig-proxy", "c"]) == ["--sig-proxy", "true", "c"]


def test_short_option_values_after_an_equals_sign():
    assert go_flag_spellings(containers.run, ["-e=A=b", "-w", "-e=x", "busybox"]) == ["-e", "A=b", "-w", "-e=x",
                                                                                      "busybox"]


def test_the_containers_command_is_left_alone():
    args = ["--name", "x", "busybox", "echo", "-e=x", "-d=true", "--", "--rm=false"]
    assert go_flag_spellings(containers.run, args) == args
    assert go_flag_spellings(containers.exec_, ["c", "ls", "-l=1"]) == ["c", "ls", "-l=1"]


def test_a_bad_boolean_is_refused_in_go_words():
    with pytest.raises(click.BadParameter, match=r'invalid argument "maybe" for "--detach" flag: '
                                                 r'strconv.ParseBool: parsing "maybe": invalid syntax'):
        go_flag_spellings(containers.run, ["-d=maybe", "busybox"])
