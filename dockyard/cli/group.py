"""The click group every dockyard command hangs from: docker's error lines, and Go's flag spellings."""
from __future__ import annotations

import sys

import click

from ..errors import DockyardError, Unavailable

GO_TRUE = {"1", "t", "true"}
GO_FALSE = {"0", "f", "false"}


def _bool_value(option: click.Option, value: str) -> bool:
    lowered = value.lower()
    if lowered not in GO_TRUE | GO_FALSE:
        raise click.BadParameter(f'invalid argument "{value}" for "{option.opts[-1]}" flag: '
                                 f'strconv.ParseBool: parsing "{value}": invalid syntax')
    return lowered in GO_TRUE


def go_flag_spellings(command: click.Command, args: list[str]) -> list[str]:
    """Rewrite what Go's pflag accepts and click does not: `--rm=false` and `-d=true` on boolean flags (which
    never take the next word as their value), and `-e=X` for a short option's value."""
    options = {name: p for p in command.params if isinstance(p, click.Option) for name in p.opts}
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
        if option is None:
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
            if not option.is_flag and not eq and option.nargs == 1 and i < len(args):
                out.append(args[i])  # the option's value, whatever it looks like
                i += 1
    return out


class DockerGroup(click.Group):
    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and not isinstance(command, click.Group):
            rest = go_flag_spellings(command, rest)
        return name, command, rest

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Unavailable as err:
            click.echo(str(err), err=True)
            sys.exit(1)
        except DockyardError as err:
            click.echo(f"Error response from daemon: {err}", err=True)
            sys.exit(1)
        except OSError as err:  # a file the user named: say so as Go's os.PathError does, not with a traceback
            if err.filename is None or not err.strerror:
                raise
            click.echo(f"open {err.filename}: {err.strerror[0].lower()}{err.strerror[1:]}", err=True)
            sys.exit(1)
