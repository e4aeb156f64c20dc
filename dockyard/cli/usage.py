"""Usage errors as the docker CLI (cobra + pflag) prints them: the error, docker's usage line, the hint to
`--help`; exit 125 for a bad flag, 1 for a wrong number of arguments or an unknown command."""
from __future__ import annotations

import sys

import click

# docker's usage line of each command after its path (cobra's `Use`), by docker's canonical path; a command
# registered both at the top and in a group (`stop`, `container stop`) is found by its last word.
DOCKER_USAGE = {
    "attach": "[OPTIONS] CONTAINER", "build": "[OPTIONS] PATH | URL | -",
    "commit": "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "cp": "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-",
    "create": "[OPTIONS] IMAGE [COMMAND] [ARG...]", "diff": "CONTAINER", "events": "[OPTIONS]",
    "exec": "[OPTIONS] CONTAINER COMMAND [ARG...]", "export": "[OPTIONS] CONTAINER", "history": "[OPTIONS] IMAGE",
    "images": "[OPTIONS] [REPOSITORY[:TAG]]", "import": "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    "info": "[OPTIONS]", "inspect": "[OPTIONS] NAME|ID [NAME|ID...]", "kill": "[OPTIONS] CONTAINER [CONTAINER...]",
    "load": "[OPTIONS]", "login": "[OPTIONS] [SERVER]", "logout": "[SERVER]", "logs": "[OPTIONS] CONTAINER",
    "pause": "CONTAINER [CONTAINER...]", "port": "CONTAINER [PRIVATE_PORT[/PROTO]]", "ps": "[OPTIONS]",
    "pull": "[OPTIONS] NAME[:TAG|@DIGEST]", "push": "[OPTIONS] NAME[:TAG]", "rename": "CONTAINER NEW_NAME",
    "restart": "[OPTIONS] CONTAINER [CONTAINER...]", "rm": "[OPTIONS] CONTAINER [CONTAINER...]",
    "rmi": "[OPTIONS] IMAGE [IMAGE...]", "run": "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    "save": "[OPTIONS] IMAGE [IMAGE...]", "search": "[OPTIONS] TERM", "start": "[OPTIONS] CONTAINER [CONTAINER...]",
    "stats": "[OPTIONS] [CONTAINER...]", "stop": "[OPTIONS] CONTAINER [CONTAINER...]",
    "tag": "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "top": "CONTAINER [ps OPTIONS]",
    "unpause": "CONTAINER [CONTAINER...]", "update": "[OPTIONS] CONTAINER [CONTAINER...]", "version": "[OPTIONS]",
    "wait": "CONTAINER [CONTAINER...]",
    "container inspect": "[OPTIONS] CONTAINER [CONTAINER...]", "container ls": "[OPTIONS]",
    "container prune": "[OPTIONS]",
    "image inspect": "[OPTIONS] IMAGE [IMAGE...]", "image ls": "[OPTIONS] [REPOSITORY[:TAG]]",
    "image prune": "[OPTIONS]", "image rm": "[OPTIONS] IMAGE [IMAGE...]",
    "network connect": "[OPTIONS] NETWORK CONTAINER", "network create": "[OPTIONS] NETWORK",
    "network disconnect": "[OPTIONS] NETWORK CONTAINER", "network inspect": "[OPTIONS] NETWORK [NETWORK...]",
    "network ls": "[OPTIONS]", "network prune": "[OPTIONS]", "network rm": "NETWORK [NETWORK...]",
    "system df": "[OPTIONS]", "system prune": "[OPTIONS]",
    "volume create": "[OPTIONS] [VOLUME]", "volume inspect": "[OPTIONS] VOLUME [VOLUME...]", "volume ls": "[OPTIONS]",
    "volume prune": "[OPTIONS]", "volume rm": "[OPTIONS] VOLUME [VOLUME...]",
}
GROUPS = {"container", "image", "network", "volume", "system"}
# cobra names a command by its first name, whatever alias was typed
ALIASES = {"container ps": "container ls", "image list": "image ls", "network list": "network ls",
           "network remove": "network rm", "volume list": "volume ls", "volume remove": "volume rm"}


class FlagError(click.BadParameter):
    """A flag pflag refuses, in pflag's words (`unknown flag: --xyz`, `invalid argument "1x" for ...`)."""


def flag_names(option: click.Option) -> str:
    """pflag's name of a flag in its messages: `-m, --memory` or `--cpus`."""
    short = [o for o in option.opts if not o.startswith("--")]
    long = [o for o in option.opts if o.startswith("--")]
    return ", ".join(short[:1] + long[-1:]) if long else short[0]


def invalid_argument(option: click.Option, value: str, reason: str) -> FlagError:
    return FlagError(f'invalid argument "{value}" for "{flag_names(option)}" flag: {reason}')


def docker_path(words: list[str]) -> str | None:
    """docker's canonical command path for the words after the program name, or None when docker has no such
    command (the daemon, the registry server: their own command lines, not docker's)."""
    path = ALIASES.get(" ".join(words), " ".join(words))
    if path in DOCKER_USAGE or path in GROUPS:
        return path
    if len(words) == 2 and words[0] in GROUPS and words[1] in DOCKER_USAGE:
        return path
    return None


def usage_line(prog: str, path: str) -> str:
    if not path:
        return f"{prog} [OPTIONS] COMMAND [ARG...]"
    if path in GROUPS:
        return f"{prog} {path}"
    args = DOCKER_USAGE.get(path) or DOCKER_USAGE[path.split()[-1]]
    return f"{prog} {path} {args}"


def argument_count_error(command: click.Command) -> tuple[str, str]:
    """What cobra's Args validator of this command says (NoArgs, ExactArgs, RequiresMinArgs, RequiresMaxArgs,
    RequiresRangeArgs), from the command's click arguments; and the verb of its last line."""
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    fixed = sum(1 for a in arguments if a.nargs == 1 and a.required)
    variadic = [a for a in arguments if a.nargs == -1]
    least = fixed + sum(1 for a in variadic if a.required)
    most = None if variadic else sum(1 for a in arguments if a.nargs == 1)

    def count(n):
        return f"{n} argument" + ("" if n == 1 else "s")

    if most == 0:
        return "accepts no arguments", "Run"
    if most is None:
        return f"requires at least {count(least)}", "See"
    if least == most:
        return f"requires {count(least)}", "Run"
    if least == 0:
        return f"requires at most {count(most)}", "Run"
    return f"requires at least {least} and at most {count(most)}", "Run"


def pflag_message(err: click.UsageError) -> str:
    """The message pflag would print for a flag error click found."""
    if isinstance(err, FlagError):
        return err.message
    if isinstance(err, click.NoSuchOption):
        name = err.option_name
        return f"unknown flag: {name}" if name.startswith("--") else f"unknown shorthand flag: '{name[1]}' in {name}"
    if isinstance(err, click.BadOptionUsage) and "requires an argument" in err.message:
        name = err.option_name
        return f"flag needs an argument: {name}" if name.startswith("--") else \
            f"flag needs an argument: '{name[1]}' in {name}"
    return err.format_message()


def is_argument_error(err: click.UsageError) -> bool:
    if isinstance(err, click.MissingParameter):
        return isinstance(err.param, click.Argument)
    return type(err) is click.UsageError and "unexpected extra argument" in err.message


def fail_usage(err: click.UsageError, prog: str, path: str, command: click.Command | None) -> None:
    """Print a usage error the way the docker CLI does and exit with its code."""
    full = f"{prog} {path}".rstrip()
    if command is not None and is_argument_error(err):
        text, verb = argument_count_error(command)
        click.echo(f"{prog}: '{full}' {text}\n\nUsage:  {usage_line(prog, path)}\n\n"
                   f"{verb} '{full} --help' for more information", err=True)
        sys.exit(1)
    click.echo(f"{pflag_message(err)}\n\nUsage:  {usage_line(prog, path)}\n\n"
               f"Run '{full} --help' for more information", err=True)
    sys.exit(125)


def fail_unknown_command(prog: str, group_path: str, name: str) -> None:
    full = f"{prog} {group_path}".rstrip()
    usage = f"\n\nUsage:  {full}" if group_path else ""
    click.echo(f"{prog}: unknown command: {full} {name}{usage}\n\nRun '{full} --help' for more information",
               err=True)
    sys.exit(1)
