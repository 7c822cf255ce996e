"""One ``NAME=VALUE`` parser and one value coercion for every way a value comes in.

``tum2000 simulate --set``, ``tum2000 run --set``, notebook parameters and
parameter files (YAML/JSON) all pass through :func:`parse_assignment` and
:func:`coerce`, so a value means the same wherever it is given: ``"3"`` is the
integer 3 for an ``int``, ``"true"``/``"yes"``/``"1"`` are ``True`` for a
``bool``, ``"[0.5, 1]"`` or ``"0.5,1"`` is a list, and a value that does not
fit is refused with :class:`tum2000.errors.ParameterError` naming what is allowed.
"""

from __future__ import annotations

import ast
import math
from typing import Any, Callable, Iterable

from tum2000.errors import ParameterError

KINDS: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool, "list": list}
"""Type names as notebooks annotate their parameters (``x: float = 1.0``)."""

TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``NAME=VALUE`` (from ``--set``) into the name and the raw value."""
    name, sep, value = str(text).partition("=")
    if not sep or not name.strip():
        raise ParameterError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def parse_assignments(items: Iterable[str] | None) -> dict[str, str]:
    """``["NAME=VALUE", ...]`` as ``{NAME: "VALUE"}`` (a later value wins)."""
    return dict(parse_assignment(item) for item in items or [])


def kind_name(kind: type | None) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false",
            list: "a list such as [0.5, 1.0]"}.get(kind, "a Python literal")


def literal(text: str) -> Any:
    """A string as the Python/JSON literal it spells, or the string itself."""
    words = {"true": True, "false": False, "null": None, "none": None}
    if text.strip().lower() in words:
        return words[text.strip().lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def coerce(name: str, value: Any, kind: type | None, *, allowed: str | None = None,
           element: Callable[[Any], Any] | None = None) -> Any:
    """``value`` (a command-line string, or a value from YAML/JSON/Python) as ``kind``.

    ``kind`` is ``bool``, ``int``, ``float``, ``str``, ``list`` or None (any
    literal). ``element`` converts and checks each item of a list. Numbers
    must be finite; an integer may be written ``3``, ``"3"`` or ``"3.0"``.
    ``allowed`` describes the allowed values in the error message.
    """
    def refuse() -> ParameterError:
        return ParameterError(f"{name} must be {allowed or kind_name(kind)}, got {value!r}")

    if kind is None:
        return literal(value) if isinstance(value, str) else value
    if kind is bool:
        if isinstance(value, str):
            word = value.strip().lower()
            if word in TRUE_WORDS or word in FALSE_WORDS:
                return word in TRUE_WORDS
            raise refuse()
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return bool(value)
        raise refuse()
    if kind is str:
        if not isinstance(value, str):
            raise refuse()
        return value
    if kind is list:
        items = value
        if isinstance(value, str):
            text = value.strip()
            if text.startswith(("[", "(")):
                items = literal(text)
            elif "," in text:
                items = [literal(part.strip()) for part in text.split(",") if part.strip()]
            else:
                raise refuse()
        if not isinstance(items, (list, tuple)):
            raise refuse()
        return [element(item) if element else item for item in items]
    if kind in (int, float):
        if isinstance(value, bool):
            raise refuse()
        try:
            number = float(value) if isinstance(value, str) else value
            number = float(number)
        except (TypeError, ValueError, OverflowError):
            raise refuse() from None
        if not math.isfinite(number):
            raise refuse()
        if kind is int:
            if number != int(number):
                raise refuse()
            return int(number)
        return number
    raise TypeError(f"unknown kind {kind!r}")
