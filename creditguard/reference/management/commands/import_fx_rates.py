from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from creditguard.reference.services import FxImportError, fx_rates_import

DEMO_RATES = Path(__file__).resolve().parents[2] / "data" / "fx_rates_demo.csv"


class Command(BaseCommand):
    help = "Import FX rates (CSV: date,currency,units_per_eur — units of currency per 1 EUR)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", nargs="?", type=Path, help="CSV file; --demo for demo rates")
        parser.add_argument("--demo", action="store_true", help="load the shipped demo rates")
        parser.add_argument("--source", default="ECB")

    def handle(self, *args, path: Path | None, demo: bool, source: str, **options) -> None:
        if demo:
            path, source = DEMO_RATES, "demo"
        if path is None:
            raise CommandError("give a CSV path or --demo")
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        try:
            count = fx_rates_import(path=path, source=source)
        except FxImportError as error:
            for row_error in error.errors[:50]:
                self.stderr.write(f"row {row_error.row}, {row_error.column}: {row_error.message}")
            raise CommandError(f"{len(error.errors)} invalid rows; nothing imported") from error
        self.stdout.write(self.style.SUCCESS(f"{count} FX rates imported from {path.name}"))
