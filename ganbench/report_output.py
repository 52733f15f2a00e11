"""What a report's section returns: its Markdown lines and the table files that go with it. Sections
compute and return; the one caller of each report (``report.build_report``, ``reproduction``,
``sensitivity``) writes the files and the Markdown at the end (figures are drawn by their cached
figure functions, which write their PNG only when its inputs changed)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from ganbench.files import write_text_atomic


@dataclass
class Section:
    """Markdown ``lines`` and ``files`` ({path: text}) of a piece of a report; ``+=`` appends a list of
    lines or another section, and iterating gives the lines."""

    lines: list[str] = field(default_factory=list)
    files: dict[Path, str] = field(default_factory=dict)

    def __iadd__(self, more: Section | Iterable[str]) -> Section:
        if isinstance(more, Section):
            self.lines += more.lines
            self.files.update(more.files)
        else:
            self.lines += list(more)
        return self

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines)

    def file(self, path: Path, text: str) -> Section:
        """Add a file to write (a table's Markdown or CSV)."""
        self.files[Path(path)] = text
        return self

    def write(self) -> None:
        """Write every file, atomically (the one caller does, once the report is complete)."""
        for path, text in self.files.items():
            write_text_atomic(path, text)
