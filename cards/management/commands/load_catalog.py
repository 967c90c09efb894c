from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cards.loading import FileReport, LoadReport, demo_catalog_paths, load_files

# Rejections printed per file; a file of thousands of bad rows should not flood the screen.
MAX_REJECTIONS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Load sets and cards from catalog CSV files, Pokémon TCG API JSON or OPTCG API JSON. "
        "Safe to run again: unchanged rows are left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", type=Path, metavar="PATH")
        parser.add_argument(
            "--demo", action="store_true", help="Load the demo catalog shipped with the app."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and count, but write nothing."
        )
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="Write a file's good rows even when some of its rows are rejected.",
        )

    def handle(self, *args, paths, demo, dry_run, skip_bad_rows, verbosity, **options):
        if demo:
            paths = demo_catalog_paths() + paths
        if not paths:
            raise CommandError("Give one or more catalog files, or --demo.")

        def show(report: FileReport) -> None:
            self._show_file(report, dry_run=dry_run, skip_bad_rows=skip_bad_rows)

        report = load_files(
            paths,
            dry_run=dry_run,
            skip_bad_rows=skip_bad_rows,
            progress=show if verbosity > 0 else None,
        )
        if not report.ok:
            raise CommandError(self._failure(report))

    def _show_file(self, report: FileReport, *, dry_run: bool, skip_bad_rows: bool) -> None:
        if report.error:
            self.stderr.write(self.style.ERROR(report.summary))
            return
        note = ""
        if dry_run:
            note = " (dry run: nothing written)"
        elif not report.written:
            note = " (rows rejected: nothing written)"
        self.stdout.write(report.summary + note)
        for rejection in report.rejections[:MAX_REJECTIONS_SHOWN]:
            self.stderr.write(str(rejection))
        hidden = len(report.rejections) - MAX_REJECTIONS_SHOWN
        if hidden > 0:
            self.stderr.write(f"{report.name}: {hidden} more rejected rows not shown")

    def _failure(self, report: LoadReport) -> str:
        problems = []
        if report.unreadable_files:
            names = ", ".join(file.name for file in report.unreadable_files)
            problems.append(f"could not read {names}")
        rejected = [file for file in report.files if file.rejections]
        if rejected and not report.skip_bad_rows:
            count = sum(len(file.rejections) for file in rejected)
            names = ", ".join(file.name for file in rejected)
            problems.append(
                f"{count} rows rejected in {names}, so nothing was written from "
                "those files (fix the rows, or use --skip-bad-rows)"
            )
        message = "; ".join(problems)
        return message[0].upper() + message[1:] + "."
