"""The docker CLI's name order for `volume ls` and `network ls`: natural order (fvbommel/sortorder's
NaturalLess), where runs of digits compare as numbers, so "3a" comes before "15d"."""
from __future__ import annotations

from functools import cmp_to_key


def natural_less(a: str, b: str) -> bool:
    i = j = 0
    while i < len(a) and j < len(b):
        da, db = a[i].isdigit(), b[j].isdigit()
        if da != db:  # digits before other characters
            return da
        if not da:
            if a[i] != b[j]:
                return a[i] < b[j]
            i, j = i + 1, j + 1
            continue
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        start_a, start_b = i, j
        while i < len(a) and a[i].isdigit():
            i += 1
        while j < len(b) and b[j].isdigit():
            j += 1
        if i - start_a != j - start_b:  # the shorter number (leading zeros aside) is the smaller
            return i - start_a < j - start_b
        if a[start_a:i] != b[start_b:j]:
            return a[start_a:i] < b[start_b:j]
        if start_a != start_b:  # equal numbers: fewer leading zeros first
            return start_a < start_b
    return len(a) < len(b)


natural_key = cmp_to_key(lambda a, b: -1 if natural_less(a, b) else (1 if natural_less(b, a) else 0))
