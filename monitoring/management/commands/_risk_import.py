"""Shared by `import_country_risk` and `import_sector_risk`: run an import, print what changed."""

from collections.abc import Callable
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.risk import RiskImportError, RiskImportSummary

MAX_ERRORS_SHOWN = 50


class RiskImportCommand(BaseCommand):
    what = "ratings"
    importer: Callable[..., RiskImportSummary]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="CSV or XLSX file")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and summarise, write nothing"
        )

    def handle(self, *args, path: Path, dry_run: bool, **options) -> None:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        try:
            summary = type(self).importer(path=path, dry_run=dry_run)
        except RiskImportError as error:
            for row_error in error.errors[:MAX_ERRORS_SHOWN]:
                self.stderr.write(f"row {row_error.row}, {row_error.column}: {row_error.message}")
            raise CommandError(f"{len(error.errors)} problems; nothing imported") from error
        for change in summary.downgrades:
            self.stdout.write(
                f"downgrade {change.code}: {change.old_rating} → {change.new_rating} "
                f"from {change.effective_date}"
            )
        for change in summary.upgrades:
            self.stdout.write(
                f"upgrade   {change.code}: {change.old_rating} → {change.new_rating} "
                f"from {change.effective_date}"
            )
        verb = "would be written (dry run)" if dry_run else "written"
        self.stdout.write(
            self.style.SUCCESS(
                f"{path.name}: {summary.rows} rows; {summary.written} {verb} "
                f"({summary.created} new, {summary.corrected} corrected), "
                f"{summary.unchanged} unchanged; {len(summary.downgrades)} downgrades, "
                f"{len(summary.upgrades)} upgrades, {len(summary.first_ratings)} first ratings"
            )
        )
