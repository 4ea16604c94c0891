"""Strict JSON reading and writing shared by every zkmargin file format.

Conventions (documented in ``docs/formats.md``):

* Every file is one JSON object with a ``"format": "zkmargin/<kind>@1"`` tag.
* Integers (fixed point x 10**6, ids, field elements) are JSON integers or decimal
  strings of digits (``"-12"``); a float, ``true``/``false``, ``NaN`` or a string with
  a point is rejected. Written: field-sized values (salt, hashes, roots) always as
  decimal strings, every other integer as a JSON integer when ``|x| < 2**53`` (exact
  in JavaScript) and as a decimal string otherwise.
* Real numbers (quotes, row settings) are finite JSON numbers.
* Dates are ISO strings ``"YYYY-MM-DD"``.
* Unknown keys and duplicate keys are errors (a typo must not be ignored).

Every problem raises :class:`engine.errors.InputError` with the JSON path of the
value, e.g. ``account.positions[2].q``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from engine.errors import InputError

FORMAT_PREFIX = "zkmargin/"
FORMAT_VERSION = "1"
JS_SAFE_LIMIT = 2**53
_INT_RE = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_MAX_INT_DIGITS = 100

T = TypeVar("T")


class NonFinite:
    """Placeholder for ``NaN``/``Infinity`` literals, rejected by every number reader."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def format_tag(kind: str) -> str:
    return f"{FORMAT_PREFIX}{kind}@{FORMAT_VERSION}"


def _pairs(path: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):  # a key came twice: name the first one repeated
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise InputError(path, f"duplicate key {key!r} in a JSON object")
                seen.add(key)
        return out

    return hook


#: Deepest nesting of arrays and objects any zkmargin file may have (the deepest real
#: one, a market's scenario rows, has 4). Checked before parsing, by a scan that does not
#: recurse: importing py-evm or py_ecc raises Python's recursion limit so far that a
#: deeply nested file would crash the interpreter inside ``json.loads``.
MAX_NESTING = 64
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_NESTING_CHUNK = 1 << 24  # bytes scanned per numpy step (bounded memory for any file size)
#: Byte -> 1 for a quote, 2 for [ or {, 3 for ] or }, 0 for anything else.
_TOKEN_KIND = np.zeros(256, dtype=np.uint8)
_TOKEN_KIND[ord('"')] = 1
_TOKEN_KIND[[ord("["), ord("{")]] = 2
_TOKEN_KIND[[ord("]"), ord("}")]] = 3


def check_nesting(text: str, root: str, limit: int = MAX_NESTING) -> None:
    """Refuse JSON text nested deeper than ``limit`` (strings are skipped, nothing recurses).

    Without a backslash in the text, a bracket is inside a string exactly when an odd
    number of quotes precede it, so the depth is a running sum over the quotes and
    brackets alone, which numpy computes chunk by chunk (a 140 MB file in well under a
    second). With backslashes (escaped quotes), a regular expression cuts the strings out
    first.
    """
    data = text.encode("utf-8")
    if b"\\" in data:
        data = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)).encode("ascii")
    depth, quotes = 0, 0
    for start in range(0, len(data), _NESTING_CHUNK):
        chunk = np.frombuffer(
            data, dtype=np.uint8, count=min(_NESTING_CHUNK, len(data) - start), offset=start
        )
        kinds = _TOKEN_KIND[chunk]
        tokens = kinds[np.flatnonzero(kinds)]
        is_quote = tokens == 1
        outside = ((np.cumsum(is_quote, dtype=np.int64) + quotes) & 1) == 0
        quotes += int(np.count_nonzero(is_quote))
        steps = np.where(outside & (tokens == 2), 1, 0) - np.where(outside & (tokens == 3), 1, 0)
        if steps.size == 0:
            continue
        running = np.cumsum(steps) + depth
        if int(running.max()) > limit:
            raise InputError(root, f"not valid JSON: nested deeper than {limit} levels")
        depth = int(running[-1])


def loads_json(text: str, root: str) -> Any:
    """``json.loads`` after :func:`check_nesting`; syntax errors become ``InputError``."""
    check_nesting(text, root)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(root, f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except ValueError as err:
        raise InputError(root, f"not valid JSON: {err}") from None


def parse_json_text(text: str, root: str) -> dict[str, Any]:
    """Parse ``text`` as one JSON object; ``root`` names it in errors."""
    if not text.strip():
        raise InputError(root, "file is empty; expected a JSON object")
    check_nesting(text, root)
    try:
        data = json.loads(text, parse_constant=NonFinite, object_pairs_hook=_pairs(root))
    except json.JSONDecodeError as err:
        raise InputError(root, f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except ValueError as err:  # e.g. an integer literal with too many digits
        raise InputError(root, f"not valid JSON: {err}") from None
    except RecursionError:
        raise InputError(root, "not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise InputError(root, f"must be a JSON object at the top level, got {json_type(data)}")
    return data


def read_json_file(path: str | Path, root: str) -> dict[str, Any]:
    """Read and parse a JSON file; errors name ``root`` and the file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise InputError(root, f"cannot read {p}: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(root, f"{p} is not UTF-8 text") from None
    return parse_json_text(text, root)


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if isinstance(value, NonFinite):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "array"
    return "object"


# ------------------------------------------------------------------- scalars


def is_int_text(text: str) -> bool:
    """``text`` is an integer as the formats write one in a string: ``-?digits``, no
    leading zero, at most 100 characters."""
    return len(text) <= _MAX_INT_DIGITS and _INT_RE.match(text) is not None


def as_int(path: str, value: object) -> int:
    """A JSON integer or a decimal string of digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and is_int_text(value):
        return int(value)
    hint = ""
    if isinstance(value, float | str):
        hint = " (integers are fixed point x 10**6: 1.5 is written 1500000)"
    raise InputError(
        path, f"must be an integer (JSON integer or decimal string), got {json_type(value)}{hint}"
    )


def as_real(path: str, value: object) -> float:
    """A finite JSON number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(path, f"must be a finite number, got {json_type(value)}")
    try:
        out = float(value)
    except OverflowError:
        raise InputError(path, f"must be a finite number, got {json_type(value)}") from None
    if not math.isfinite(out):
        raise InputError(path, f"must be a finite number, got {out}")
    return out


def as_str(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise InputError(path, f"must be a string, got {json_type(value)}")
    return value


def as_date(path: str, value: object) -> dt.date:
    text = as_str(path, value)
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else _bad_date(path, text)
    except ValueError:
        return _bad_date(path, text)


def _bad_date(path: str, text: str) -> dt.date:
    raise InputError(path, f"must be an ISO date YYYY-MM-DD, got {text!r}")


def as_list(path: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise InputError(path, f"must be a JSON array, got {json_type(value)}")
    return value


# ------------------------------------------------------------------- objects


class Obj:
    """A JSON object at ``path`` read field by field; :meth:`done` rejects leftovers."""

    def __init__(self, path: str, value: object) -> None:
        if not isinstance(value, dict):
            raise InputError(path, f"must be a JSON object, got {json_type(value)}")
        self.path = path
        self.data: dict[str, Any] = value
        self._seen: set[str] = set()

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}"

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str) -> Any:
        """The value of a required key."""
        self._seen.add(key)
        if key not in self.data:
            raise InputError(self.sub(key), "required field is missing")
        return self.data[key]

    def get(self, key: str, reader: Callable[[str, Any], T]) -> T:
        return reader(self.sub(key), self.raw(key))

    def opt(self, key: str, reader: Callable[[str, Any], T]) -> T | None:
        """Optional key: absent or ``null`` gives ``None``."""
        self._seen.add(key)
        if self.data.get(key) is None:
            return None
        return reader(self.sub(key), self.data[key])

    def obj(self, key: str) -> Obj:
        return Obj(self.sub(key), self.raw(key))

    def items(self, key: str) -> Iterator[tuple[str, Any]]:
        """(path, value) of each element of the array at ``key``."""
        values = as_list(self.sub(key), self.raw(key))
        for i, value in enumerate(values):
            yield f"{self.sub(key)}[{i}]", value

    def skip(self, *keys: str) -> None:
        """Mark keys as known without reading them."""
        self._seen.update(keys)

    def done(self) -> None:
        unknown = [k for k in self.data if k not in self._seen]
        if unknown:
            known = ", ".join(sorted(self._seen))
            raise InputError(self.sub(unknown[0]), f"unknown field; known fields here: {known}")


def check_format(doc: Obj, *kinds: str) -> str:
    """The file's kind; it must be one of ``kinds``."""
    expected = " or ".join(f'"{format_tag(k)}"' for k in kinds)
    tag = doc.opt("format", as_str)
    if tag is None:
        raise InputError(doc.sub("format"), f"required format tag is missing; expected {expected}")
    for kind in kinds:
        if tag == format_tag(kind):
            return kind
    if tag.startswith(FORMAT_PREFIX):
        got = tag[len(FORMAT_PREFIX) :].split("@")[0]
        raise InputError(
            doc.sub("format"), f"expected {expected}, got {tag!r} (a {got} file; is it in the wrong place?)"
        )
    raise InputError(doc.sub("format"), f"expected {expected}, got {tag!r}")


# ------------------------------------------------------------------- writing


def emit_int(x: int) -> int | str:
    """An integer for JSON output: a JSON integer when exact in JavaScript, else a string."""
    return x if -JS_SAFE_LIMIT < x < JS_SAFE_LIMIT else str(x)


def emit_field(x: int) -> str:
    """A field-sized value (salt, hash, root): always a decimal string."""
    return str(x)


def dumps(data: object) -> str:
    """The JSON text zkmargin writes (2-space indent, trailing newline, no NaN)."""
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def dumps_records(data: dict[str, Any], key: str) -> str:
    """``dumps`` of ``data`` except that the list at ``key`` (a report's accounts) is written
    one compact JSON object per line: the same JSON value, written by the C encoder (the
    indenting one is pure Python and took 10 s for 100,000 accounts), and a file that
    line-oriented tools (grep, head, diff) read one record at a time."""
    head = {k: v for k, v in data.items() if k != key}
    records = data[key]
    if not records:
        return dumps(data)
    encode = json.JSONEncoder(allow_nan=False, separators=(", ", ": ")).encode
    body = ",\n    ".join(encode(r) for r in records)
    prefix = dumps({**head, key: []}).rstrip()
    # the head ends with '"key": []\n}'; open the list there and put the records in
    opened = prefix[: prefix.rindex("[]")]
    return f"{opened}[\n    {body}\n  ]\n}}\n"


def in_file(err: InputError, path: str | Path) -> InputError:
    """``err`` with the file it came from appended to the message."""
    return InputError(err.field, f"{err.message} (in {path})")
