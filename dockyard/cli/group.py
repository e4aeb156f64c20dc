"""The click group every dockyard command hangs from: docker's error lines, and Go's flag spellings."""
from __future__ import annotations

import sys

import click

from ..errors import DockyardError, Unavailable
from .common import path_error
from .usage import FlagError, docker_path, fail_unknown_command, fail_usage

GO_TRUE = {"1", "t", "true"}
GO_FALSE = {"0", "f", "false"}


def _bool_value(option: click.Option, value: str) -> bool:
    lowered = value.lower()
    if lowered not in GO_TRUE | GO_FALSE:
        raise FlagError(f'invalid argument "{value}" for "{option.opts[-1]}" flag: '
                        f'strconv.ParseBool: parsing "{value}": invalid syntax')
    return lowered in GO_TRUE


def _takes_value(option: click.Option) -> bool:
    return not option.is_flag and not isinstance(option.type, click.types.BoolParamType)


def _check_shorthands(options: dict, arg: str, following: bool) -> None:
    """A cluster of short flags (`-it`, `-p80:80`) as pflag reads it: each letter a known flag, the first one
    that takes a value takes the rest of the word (or the next word)."""
    letters = arg[1:]
    for n, letter in enumerate(letters):
        option = options.get("-" + letter)
        if option is None:
            raise FlagError(f"unknown shorthand flag: '{letter}' in -{letters[n:]}")
        if _takes_value(option):
            if n + 1 == len(letters) and not following:
                raise FlagError(f"flag needs an argument: '{letter}' in -{letters[n:]}")
            return


def go_flag_spellings(command: click.Command, args: list[str]) -> list[str]:
    """Rewrite what Go's pflag accepts and click does not: `--rm=false` and `-d=true` on boolean flags (which
    never take the next word as their value), and `-e=X` for a short option's value."""
    options = {name: p for p in command.params if isinstance(p, click.Option) for name in p.opts}
    options.update({name: HELP for name in ("-h", "--help")})
    interspersed = command.context_settings.get("allow_interspersed_args", command.allow_interspersed_args)
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            return out + [arg] + args[i:]
        if not arg.startswith("-") or arg == "-":
            if not interspersed:  # `run IMAGE CMD...`: the rest is the container's
                return out + [arg] + args[i:]
            out.append(arg)
            continue
        name, eq, value = arg.partition("=")
        option = options.get(name)
        if option is None and name.startswith("--"):
            raise FlagError(f"unknown flag: {name}")
        if option is None:
            _check_shorthands(options, arg, i < len(args))
            out.append(arg)
        elif option.is_flag and eq:
            if _bool_value(option, value):
                out.append(name)
            elif option.secondary_opts:
                out.append(option.secondary_opts[0])
        elif not option.is_flag and isinstance(option.type, click.types.BoolParamType):
            out += [name, "true" if not eq or _bool_value(option, value) else "false"]
        elif eq and not name.startswith("--"):
            out += [name, value]
        else:
            out.append(arg)
            if not option.is_flag and not eq and option.nargs == 1:
                if i == len(args):
                    raise FlagError(f"flag needs an argument: {name}" if name.startswith("--")
                                    else f"flag needs an argument: '{name[1:]}' in {name}")
                out.append(args[i])  # the option's value, whatever it looks like
                i += 1
    return out


HELP = click.Option(["-h", "--help"], is_flag=True)


def _words(ctx: click.Context) -> list[str]:
    return ctx.command_path.split()[1:]


class DockerGroup(click.Group):
    """Docker's usage errors for every command under it: pflag's flag errors (exit 125), cobra's argument
    count and unknown command errors (exit 1), each with docker's usage line."""

    def parse_args(self, ctx, args):
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            click.echo(ctx.get_help())  # `docker network`: its help on stdout, exit 0
            ctx.exit(0)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as err:
            path = docker_path(_words(ctx))
            if path is None and ctx.parent is not None:
                raise
            fail_usage(err, ctx.find_root().info_name, path or "", None)

    def resolve_command(self, ctx, args):
        try:
            name, command, rest = super().resolve_command(ctx, args)
        except click.UsageError:
            group = _words(ctx)
            if (group and docker_path(group) is None) or not args or args[0].startswith("-"):
                raise
            fail_unknown_command(ctx.find_root().info_name, " ".join(group), args[0])
        passes_through = getattr(command, "passes_args_through", False)  # `compose`: its program parses them
        if command is not None and not isinstance(command, click.Group) and not passes_through:
            ctx.meta["docker_command"] = (name, command)
            rest = go_flag_spellings(command, rest)
        return name, command, rest

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as err:
            self._usage_failed(ctx, err)
        except Unavailable as err:
            click.echo(str(err), err=True)
            sys.exit(1)
        except DockyardError as err:
            click.echo(f"Error response from daemon: {err}", err=True)
            sys.exit(1)
        except OSError as err:  # a file the user named: say so as Go's os.PathError does, not with a traceback
            if err.filename is None or not err.strerror:
                raise
            click.echo(path_error(err), err=True)
            sys.exit(1)

    def _usage_failed(self, ctx: click.Context, err: click.UsageError) -> None:
        """A usage error of the command this group ran, in docker's words; others' (the daemon's) as click's."""
        name, command = ctx.meta.get("docker_command", (None, None))
        path = docker_path(_words(ctx) + [name]) if name else None
        if path is None:
            raise err
        fail_usage(err, ctx.find_root().info_name, path, command)
