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
import gc
import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


#: Kinds whose format moved past ``FORMAT_VERSION``: params files carry the margin model
#: (``zkmargin/params@2`` is ZKPM-2; docs/formats.md).
KIND_VERSIONS = {"params": 2}
#: Tags this engine no longer reads, and why (never migrated silently).
RETIRED_TAGS = {
    f"{FORMAT_PREFIX}params@1": (
        "a ZKPM-1 params file: this engine computes ZKPM-2, whose aggregation credits offsetting "
        "positions through the signs in rho, so parameters approved for ZKPM-1 are not approved "
        'for it; review them, then write "format": "zkmargin/params@2" and "model": "ZKPM-2" '
        '(docs/margin-model.md, "From ZKPM-1")'
    ),
}


def format_tag(kind: str) -> str:
    return f"{FORMAT_PREFIX}{kind}@{KIND_VERSIONS.get(kind, FORMAT_VERSION)}"


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


def check_nesting(text: str | bytes, root: str, limit: int = MAX_NESTING) -> None:
    """Refuse JSON text nested deeper than ``limit`` (strings are skipped, nothing recurses).

    Without a backslash in the text, a bracket is inside a string exactly when an odd
    number of quotes precede it, so the depth is a running sum over the quotes and
    brackets alone, which numpy computes chunk by chunk (a 140 MB file in well under a
    second). With backslashes (escaped quotes), a regular expression cuts the strings out
    first.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    if b"\\" in data:
        plain = text if isinstance(text, str) else text.decode("utf-8", errors="replace")
        data = _NOT_BRACKET.sub("", _JSON_STRING.sub("", plain)).encode("ascii")
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


def json_decoder(root: str) -> json.JSONDecoder:
    """The strict decoder of :func:`parse_json_text` (duplicate keys, NaN refused), for
    reading a document value by value (``raw_decode``)."""
    return json.JSONDecoder(parse_constant=NonFinite, object_pairs_hook=_pairs(root))


def read_file_bytes(path: Path, root: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(root, f"cannot read {path}: {err.strerror or err}") from None


def decode_utf8(raw: bytes, path: Path, root: str) -> str:
    """``raw`` as UTF-8 text; an InputError naming ``root`` and ``path`` if it is not."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(root, f"{path} is not UTF-8 text") from None


def read_json_text(path: str | Path, root: str) -> str:
    """The UTF-8 text of ``path``, checked for nesting depth (before any parsing)."""
    p = Path(path)
    raw = read_file_bytes(p, root)
    check_nesting(raw, root)
    return decode_utf8(raw, p, root)


_WHITESPACE = re.compile(r"[ \t\n\r]*")


class StreamedDocument:
    """A JSON object read member by member, its array at ``key`` element by element.

    For files of a million accounts: the elements of ``text``'s top-level array ``key``
    come out of :meth:`elements` one at a time, decoded by the same strict decoder as
    :func:`parse_json_text`, so no tree of the whole file is ever built. The other members
    are kept in :attr:`head` (``found`` tells whether ``key`` was there). Errors are
    ``InputError`` naming ``root``, with the line and column.
    """

    def __init__(self, text: str, root: str, key: str) -> None:
        if not text.strip():
            raise InputError(root, "file is empty; expected a JSON object")
        self.text = text
        self.root = root
        self.key = key
        self.head: dict[str, Any] = {}
        self.found = False
        self._decode = json_decoder(root).raw_decode
        self._pos = 0

    def _fail(self, message: str, pos: int | None = None) -> InputError:
        at = self._pos if pos is None else pos
        line = self.text.count("\n", 0, at) + 1
        column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return InputError(self.root, f"not valid JSON: {message} at line {line} column {column}")

    def _skip(self) -> str:
        match = _WHITESPACE.match(self.text, self._pos)
        self._pos = match.end() if match else self._pos
        return self.text[self._pos] if self._pos < len(self.text) else ""

    def _value(self) -> Any:
        try:
            value, self._pos = self._decode(self.text, self._pos)
        except json.JSONDecodeError as err:
            raise self._fail(err.msg, err.pos) from None
        except ValueError as err:
            raise InputError(self.root, f"not valid JSON: {err}") from None
        except RecursionError:
            raise InputError(self.root, "not valid JSON: nested too deeply") from None
        return value

    def _expect(self, char: str, what: str) -> None:
        if self._skip() != char:
            raise self._fail(f"expected {what}")
        self._pos += 1

    def elements(self) -> Iterator[Any]:
        """The elements of the array at ``key``, in order; then the rest of the object."""
        if self._skip() != "{":
            value = self._value()  # a JSON value that is not an object, or invalid JSON
            raise InputError(self.root, f"must be a JSON object at the top level, got {json_type(value)}")
        self._pos += 1
        first = True
        while True:
            char = self._skip()
            if char == "}":
                self._pos += 1
                break
            if not first:
                self._expect(",", "',' or '}'")
                self._skip()
            first = False
            if self._skip() != '"':
                raise self._fail("expected a property name in double quotes")
            name = self._value()
            self._expect(":", "':'")
            if name in self.head or (name == self.key and self.found):
                raise InputError(self.root, f"duplicate key {name!r} in a JSON object")
            if name == self.key and self._skip() == "[":
                self.found = True
                yield from self._array()
            else:
                self._skip()
                self.head[name] = self._value()
        if self._skip():
            raise self._fail("extra data after the object")

    def _array(self) -> Iterator[Any]:
        self._pos += 1  # the "["
        if self._skip() == "]":
            self._pos += 1
            return
        while True:
            self._skip()
            yield self._value()
            char = self._skip()
            self._pos += 1
            if char == "]":
                return
            if char != ",":
                raise self._fail("expected ',' or ']'", self._pos - 1)


def read_json_file(path: str | Path, root: str) -> dict[str, Any]:
    """Read and parse a JSON file; errors name ``root`` and the file."""
    p = Path(path)
    return parse_json_text(decode_utf8(read_file_bytes(p, root), p, root), root)


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
    if tag in RETIRED_TAGS:
        raise InputError(doc.sub("format"), RETIRED_TAGS[tag])
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


RECORD_INDENT = "    "


def record_line(record: object) -> str:
    """One record of a list written one per line (compact, by the C encoder)."""
    return json.dumps(record, allow_nan=False, separators=(", ", ": "))


def records_frame(head: dict[str, Any], key: str) -> tuple[str, str]:
    """The text before the first record and after the last of ``{**head, key: [...]}``
    written by :func:`dumps_records`."""
    text = dumps({**head, key: []}).rstrip()
    cut = text.rindex("[]")  # the head ends with '"key": []\n}'
    return text[:cut] + "[\n" + RECORD_INDENT, "\n  ]\n}\n"


def dumps_records(data: dict[str, Any], key: str) -> str:
    """``dumps`` of ``data`` except that the list at ``key`` (a report's accounts) comes last
    and is written one compact JSON object per line: the same JSON value, written by the
    C encoder (the indenting one is pure Python and took 10 s for 100,000 accounts), and a
    file that line-oriented tools (grep, head, diff) read one record at a time."""
    head = {k: v for k, v in data.items() if k != key}
    records = data[key]
    if not records:
        return dumps(data)
    opening, closing = records_frame(head, key)
    return opening + (",\n" + RECORD_INDENT).join(record_line(r) for r in records) + closing


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cycle collector off while a file is parsed and validated. A file of 100,000
    accounts makes millions of objects, and each makes the collector walk all those already
    made (half the time of reading such a file); the parsed tree and the model's frozen
    records hold no reference cycles, so nothing is left for the collector to find.
    Reference counting frees memory as usual. Restored as it was, also on an error."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def in_file(err: InputError, path: str | Path) -> InputError:
    """``err`` with the file it came from appended to the message."""
    return InputError(err.field, f"{err.message} (in {path})")
