"""Quote snapshots for the operator: a folder of ``zkmargin/quotes@1`` files, or one file.

A snapshot is identified by the sha256 of its file's bytes, so the same quotes under
another name are the same snapshot, and an edited file is a new one. The bytes are
read once and parsed from memory: the snapshot that is hashed is the snapshot that
is used.

Order: by the quotes' ``as_of`` date, then by file name. Each snapshot processed gets
the next market epoch (epochs follow this order). A file whose date cannot be read
sorts first, so that it fails (with its reason) before the good ones are processed.

Only ``*.json`` files are read; names starting with ``.`` and ending with ``.tmp`` are
skipped, so a feed that writes a temporary file and renames it into place (as
``zkmargin.cli.render.write_atomic`` does) is never read half-written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from engine.errors import InputError
from engine.formats.json_text import in_file, loads_json, parse_json_text
from engine.formats.quotes import QuotesFile, load_quotes_doc
from engine.profiles import Profile


@dataclass(frozen=True)
class SnapshotFile:
    """One snapshot file: where it is, its bytes and their sha256 (the snapshot id)."""

    path: Path
    data: bytes
    snapshot_id: str

    @property
    def source(self) -> str:
        return str(self.path)

    def as_of(self) -> dt.date | None:
        """The quotes' ``as_of`` date if it can be read, else ``None`` (no validation)."""
        try:
            doc = loads_json(self.data.decode("utf-8"), "quotes")
            return dt.date.fromisoformat(doc["as_of"])
        except (InputError, ValueError, KeyError, TypeError):
            return None

    def sort_key(self) -> tuple[dt.date, str]:
        return (self.as_of() or dt.date.min, self.path.name)

    def load(self, profile: Profile) -> QuotesFile:
        """Parse and validate the quotes; ``InputError`` naming the field and the file."""
        try:
            text = self.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise in_file(
                InputError("quotes", f"not UTF-8 text ({exc.reason} at byte {exc.start})"), self.path
            ) from None
        try:
            return load_quotes_doc(parse_json_text(text, "quotes"), profile)
        except InputError as err:
            raise in_file(err, self.path) from None


def read_snapshot(path: Path) -> SnapshotFile:
    """Read ``path`` once; its id is the sha256 of the bytes read."""
    data = Path(path).read_bytes()
    return SnapshotFile(path=Path(path), data=data, snapshot_id=hashlib.sha256(data).hexdigest())


def is_snapshot_name(path: Path) -> bool:
    name = path.name
    return name.endswith(".json") and not name.startswith(".") and not name.endswith(".tmp")


def scan_folder(folder: Path) -> list[SnapshotFile]:
    """Every snapshot file in ``folder`` (not recursive), in processing order."""
    snaps: list[SnapshotFile] = []
    for path in sorted(Path(folder).iterdir()):
        if not path.is_file() or not is_snapshot_name(path):
            continue
        try:
            snaps.append(read_snapshot(path))
        except FileNotFoundError:
            continue  # renamed or removed between listing and reading
    return sorted(snaps, key=SnapshotFile.sort_key)
