"""What a load did: per file, the counts and the rows it rejected with their reasons."""

from dataclasses import dataclass, field

from cards.loading.formats import FORMATS
from cards.loading.records import CARDS


@dataclass(frozen=True)
class Rejection:
    """A row that was not loaded, or (line None) a file that could not be read at all."""

    file: str
    line: int | None  # CSV: physical line, header = 1. JSON: 1-based item index.
    reason: str
    unit: str = "line"  # "line" for CSV, "item" for JSON

    def __str__(self):
        where = f" {self.unit} {self.line}" if self.line is not None else ""
        return f"{self.file}{where}: {self.reason}"


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def __str__(self):
        return (
            f"{self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )


@dataclass
class FileReport:
    """What loading one file did, or (written False) would have done."""

    name: str
    format: str | None = None
    sets: Counts = field(default_factory=Counts)
    cards: Counts = field(default_factory=Counts)
    rejections: list[Rejection] = field(default_factory=list)
    error: str | None = None  # set when the file as a whole could not be read
    written: bool = False

    @property
    def summary(self) -> str:
        """One line: "pokemon_cards.csv: cards 309 created, 0 updated, ..."."""
        if self.error:
            return f"{self.name}: {self.error}"
        is_cards_file = self.format is not None and FORMATS[self.format].target == CARDS
        parts = [f"cards {self.cards}"] if is_cards_file else []
        # A cards file mentions sets only when it created some (OPTCG cards can).
        if not is_cards_file or self.sets != Counts():
            parts.append(f"sets {self.sets}")
        return f"{self.name}: {'; '.join(parts)}"


@dataclass
class LoadReport:
    files: list[FileReport] = field(default_factory=list)
    dry_run: bool = False
    skip_bad_rows: bool = False

    @property
    def rejections(self) -> list[Rejection]:
        """Every rejected row, and every file that could not be read (line None)."""
        found = []
        for report in self.files:
            if report.error:
                found.append(Rejection(report.name, None, report.error))
            found.extend(report.rejections)
        return found

    @property
    def unreadable_files(self) -> list[FileReport]:
        return [report for report in self.files if report.error]

    @property
    def ok(self) -> bool:
        """Every file was read, and no row was rejected unless bad rows were to be skipped."""
        if self.unreadable_files:
            return False
        return self.skip_bad_rows or not any(report.rejections for report in self.files)
