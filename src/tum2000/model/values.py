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
import numbers
import os
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable

from tum2000.errors import ParameterError

KINDS: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool, "list": list}
"""Type names as notebooks annotate their parameters (``x: float = 1.0``)."""

EXACT_FLOAT_INTEGER = 2**53
"""Beyond this a float no longer holds every integer (``9007199254740993.0`` is
``...992``): an integer parameter given as a float (``1e32`` in YAML/JSON, a
notebook's float) must lie within it; larger integers must be written in digits."""

NAME_MAX = 255
"""Longest file name (bytes) Linux, macOS and Windows file systems accept."""
PATH_MAX = 4096
"""Longest path (bytes) the Linux kernel accepts (``PATH_MAX``)."""

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
    must be finite; an integer may be written ``3``, ``"3"`` or ``"3.0"``, and is
    never passed through a float (:func:`_integer`).
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
    if kind is int:
        return _integer(value, refuse)
    if kind is float:
        if isinstance(value, bool):
            raise refuse()
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise refuse() from None
        if not math.isfinite(number):
            raise refuse()
        return number
    raise TypeError(f"unknown kind {kind!r}")


_INTEGER_TEXT = re.compile(r"[+-]?[0-9][0-9_]*")


def _integer(value: Any, refuse: Callable[[], ParameterError]) -> int:
    """``value`` as an exact integer, never through a float.

    Digits (``"9007199254740993"``) and Python/NumPy integers are taken as
    they are; a float, or a string such as ``"3.0"`` or ``"1e3"``, only when
    it is integral and within :data:`EXACT_FLOAT_INTEGER` (beyond it, a float
    stands for many integers).
    """
    if isinstance(value, bool):
        raise refuse()
    if isinstance(value, numbers.Integral):  # Python and NumPy integers, exactly
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER_TEXT.fullmatch(text):
            return int(text)
        try:
            number = Decimal(text)
        except (InvalidOperation, ValueError):
            raise refuse() from None
    elif isinstance(value, numbers.Real):
        try:
            number = Decimal(float(value))
        except (TypeError, ValueError, OverflowError):
            raise refuse() from None
    else:
        raise refuse()
    if not number.is_finite() or number != number.to_integral_value() \
            or abs(number) > EXACT_FLOAT_INTEGER:
        raise refuse()
    return int(number)


def check_path_length(path: str | os.PathLike, what: str) -> None:
    """Refuse a path with a name longer than :data:`NAME_MAX` bytes or longer
    than :data:`PATH_MAX` bytes in all (:class:`ParameterError`), before the
    file system answers with ``OSError [Errno 36]``."""
    text = os.fsencode(os.fspath(path))
    if len(text) >= PATH_MAX:
        raise ParameterError(f"{what} is {len(text)} bytes long (allowed: a path shorter "
                             f"than {PATH_MAX} bytes)")
    for part in text.split(b"/"):
        if len(part) > NAME_MAX:
            raise ParameterError(f"{what} has a name of {len(part)} bytes "
                                 f"({os.fsdecode(part[:24])}...; allowed: up to "
                                 f"{NAME_MAX} bytes per name)")
