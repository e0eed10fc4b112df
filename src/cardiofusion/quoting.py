"""Quoting what a user sent inside a message: never more than a short prefix of it.

A value can be a megabyte of text or an expanded YAML alias; an error that repeats it whole costs
more than the input and buries the message.
"""

from __future__ import annotations

from typing import Any


def shown(value: Any, limit: int = 60) -> str:
    """`value` as a message may quote it: its repr, cut to `limit` characters when long."""
    text = value if isinstance(value, str) else _bounded_repr(value, limit)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    return f"{text[:limit]!r}... ({_size(value)})"


def _bounded_repr(value: Any, limit: int) -> str:
    """repr() of a scalar; a container is described by its type and length, never expanded."""
    if isinstance(value, (list, tuple, dict, set)):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, int) and value.bit_length() > 4 * limit:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    return repr(value)


def _size(value: Any) -> str:
    return f"{len(value)} characters" if isinstance(value, str) else "cut"
