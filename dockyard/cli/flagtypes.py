"""Flag value types parsed as the docker CLI's pflag values are, refusing bad values in Go's words:
`invalid argument "1x" for "-m, --memory" flag: invalid suffix: 'x'`."""
from __future__ import annotations

import re
from fractions import Fraction

import click

from ..units import parse_duration, ram_in_bytes
from .usage import invalid_argument


class GoType(click.ParamType):
    """A pflag value: `parse(text)` returns the value or raises ValueError with Go's reason."""

    def parse(self, text: str):
        raise NotImplementedError

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except ValueError as err:
            raise invalid_argument(param, value, str(err)) from None


def parse_int(text: str, bits: int = 64, unsigned: bool = False) -> int:
    """strconv.ParseInt / ParseUint (base 0 is not used by pflag: decimal only)."""
    func = "ParseUint" if unsigned else "ParseInt"
    if not re.fullmatch(r"[0-9]+" if unsigned else r"[+-]?[0-9]+", text):
        raise ValueError(f'strconv.{func}: parsing "{text}": invalid syntax')
    value = int(text)
    low, high = (0, 2 ** bits - 1) if unsigned else (-2 ** (bits - 1), 2 ** (bits - 1) - 1)
    if not low <= value <= high:
        raise ValueError(f'strconv.{func}: parsing "{text}": value out of range')
    return value


class GoInt(GoType):
    name = "int"

    def __init__(self, bits: int = 64, unsigned: bool = False):
        self.bits, self.unsigned = bits, unsigned

    def parse(self, text):
        return parse_int(text, self.bits, self.unsigned)


class MemBytes(GoType):
    """opts.MemBytes (`-m`, `--shm-size`, `--memory-reservation`): go-units' RAMInBytes."""
    name = "bytes"

    def parse(self, text):
        return ram_in_bytes(text)


class MemSwapBytes(MemBytes):
    """opts.MemSwapBytes: `-1` is unlimited swap."""

    def parse(self, text):
        return -1 if text == "-1" else ram_in_bytes(text)


class NanoCPUs(GoType):
    """opts.NanoCPUs (`--cpus`): a rational number (`1.5`, `1/2`) of CPUs, whole in nanoCPUs."""
    name = "decimal"

    def parse(self, text):
        try:
            cpus = Fraction(text.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"failed to parse {text} as a rational number") from None
        nano = cpus * 10 ** 9
        if nano.denominator != 1:
            raise ValueError("value is too precise")
        return int(nano)


class Duration(GoType):
    """time.Duration flags, in nanoseconds, with time.ParseDuration's reasons."""
    name = "duration"

    def parse(self, text):
        try:
            return int(parse_duration(text) * 1e9)
        except ValueError:
            m = re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)([^\d.]*)(.*)", text)
            if m and not m.group(1):
                raise ValueError(f'time: missing unit in duration "{text}"') from None
            if m and not m.group(2):
                raise ValueError(f'time: unknown unit "{m.group(1)}" in duration "{text}"') from None
            raise


class Validated(GoType):
    """A list flag whose every value a function checks (opts.NewListOpts with a validator)."""
    name = "list"

    def __init__(self, check):
        self.check = check

    def parse(self, text):
        return self.check(text)
