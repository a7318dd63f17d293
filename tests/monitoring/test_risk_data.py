"""Country and sector risk: the shipped files, quarterly imports with history, and selectors."""

import csv
import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from creditguard.reference.models import Country
from creditguard.reference.nace import SECTIONS
from monitoring.models import CountryRisk, SectorRisk
from monitoring.risk import (
    RiskImportError,
    country_downgrades,
    country_risk_import,
    current_country_ratings,
    current_sector_ratings,
    sector_downgrades,
    sector_risk_import,
)

RISK_DATA = Path(__file__).resolve().parents[2] / "monitoring" / "risk_data"
SHIPPED = date(2026, 10, 1)
NEXT_QUARTER = date(2027, 1, 1)
SOURCE = (
    "CreditGuard country risk assessment 2026Q4 (internal, derived from public sovereign "
    "ratings and OECD classifications)"
)


def shipped_rows(name):
    with (RISK_DATA / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, header, rows) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


COUNTRY_HEADER = ["country", "rating", "effective_date", "source", "data_version"]


def quarter_file(tmp_path, rows, name="country_2027Q1.csv"):
    return write_csv(
        tmp_path / name,
        COUNTRY_HEADER,
        [[code, rating, day, "Test source", "2027Q1"] for code, rating, day in rows],
    )


# --- The shipped files ----------------------------------------------------------------------------


def test_the_shipped_country_file_rates_every_iso_3166_country_once():
    import pycountry

    rows = shipped_rows("country_risk.csv")
    codes = [row["country"] for row in rows]
    assert len(codes) == 249
    assert sorted(codes) == sorted(country.alpha_2 for country in pycountry.countries)
    for row in rows:
        assert 1 <= int(row["rating"]) <= 10
        assert row["effective_date"] == "2026-10-01"
        assert row["source"] == SOURCE
        assert row["data_version"] == "2026Q4"


def test_the_shipped_sector_file_rates_every_nace_section():
    rows = shipped_rows("sector_risk.csv")
    assert sorted(row["nace_section"] for row in rows) == sorted(SECTIONS)
    assert all(1 <= int(row["rating"]) <= 10 for row in rows)


@pytest.mark.django_db
def test_the_migration_loaded_a_rating_for_every_country_and_sector():
    ratings = current_country_ratings(SHIPPED)
    assert set(ratings) == set(Country.objects.values_list("code", flat=True))
    assert len(ratings) == 249
    assert ratings["DE"] == 1 and ratings["RU"] == 10
    assert set(current_sector_ratings(SHIPPED)) == set(SECTIONS)


@pytest.mark.django_db
def test_nothing_is_in_force_before_the_first_effective_date():
    assert current_country_ratings(date(2026, 9, 30)) == {}


@pytest.mark.django_db
def test_reimporting_the_shipped_file_is_a_no_op():
    before = CountryRisk.objects.count()
    summary = country_risk_import(path=RISK_DATA / "country_risk.csv")
    assert (summary.rows, summary.unchanged, summary.written) == (249, 249, 0)
    assert summary.downgrades == summary.upgrades == []
    assert CountryRisk.objects.count() == before


# --- Quarterly imports ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_quarter_adds_history_and_reports_upgrades_and_downgrades(tmp_path):
    path = quarter_file(
        tmp_path, [("TR", 7, "2027-01-01"), ("GR", 3, "2027-01-01"), ("DE", 1, "2027-01-01")]
    )
    summary = country_risk_import(path=path)
    assert (summary.created, summary.corrected, summary.unchanged) == (3, 0, 0)
    assert [(c.code, c.old_rating, c.new_rating) for c in summary.downgrades] == [("TR", 6, 7)]
    assert [(c.code, c.old_rating, c.new_rating) for c in summary.upgrades] == [("GR", 4, 3)]
    assert CountryRisk.objects.filter(country_id="TR").count() == 2  # history kept
    assert current_country_ratings(date(2026, 12, 31))["TR"] == 6
    assert current_country_ratings(NEXT_QUARTER)["TR"] == 7

    again = country_risk_import(path=path)
    assert (again.written, again.unchanged, again.downgrades) == (0, 3, [])


@pytest.mark.django_db
def test_an_existing_effective_date_is_corrected_in_place(tmp_path):
    summary = country_risk_import(path=quarter_file(tmp_path, [("FR", 3, "2026-10-01")]))
    assert (summary.created, summary.corrected) == (0, 1)
    assert summary.first_ratings[0].code == "FR"  # nothing was in force before 2026-10-01
    risk = CountryRisk.objects.get(country_id="FR", effective_date=SHIPPED)
    assert (risk.rating, risk.source, risk.data_version) == (3, "Test source", "2027Q1")


@pytest.mark.django_db
def test_a_file_holding_several_quarters_classifies_each_against_the_one_before(tmp_path):
    path = quarter_file(tmp_path, [("AR", 9, "2027-04-01"), ("AR", 7, "2027-01-01")])
    summary = country_risk_import(path=path)
    assert [(c.old_rating, c.new_rating) for c in summary.upgrades] == [(8, 7)]
    assert [(c.old_rating, c.new_rating) for c in summary.downgrades] == [(7, 9)]


@pytest.mark.django_db
def test_invalid_rows_are_reported_by_row_and_column_and_nothing_is_written(tmp_path):
    path = quarter_file(
        tmp_path,
        [
            ("TR", 7, "2027-01-01"),  # valid, but the file is refused as a whole
            ("XX", 5, "2027-01-01"),
            ("FR", 11, "2027-01-01"),
            ("IT", "high", "2027-01-01"),
            ("ES", 4, "2027-13-01"),
            ("PT", 3.5, "2027-01-01"),
            ("TR", 8, "2027-01-01"),
        ],
    )
    before = CountryRisk.objects.count()
    with pytest.raises(RiskImportError) as raised:
        country_risk_import(path=path)
    problems = [(error.row, error.column) for error in raised.value.errors]
    assert problems == [
        (3, "country"),
        (4, "rating"),
        (5, "rating"),
        (6, "effective_date"),
        (7, "rating"),
        (8, "country"),  # repeats row 2
    ]
    assert "XX" in raised.value.errors[0].message
    assert CountryRisk.objects.count() == before


@pytest.mark.django_db
def test_a_file_without_a_required_column_is_refused(tmp_path):
    path = write_csv(tmp_path / "short.csv", ["country", "rating"], [["DE", 1]])
    with pytest.raises(RiskImportError) as raised:
        country_risk_import(path=path)
    assert [(e.row, e.column) for e in raised.value.errors] == [
        (1, "effective_date"),
        (1, "source"),
        (1, "data_version"),
    ]


@pytest.mark.django_db
def test_other_file_types_are_refused(tmp_path):
    path = tmp_path / "ratings.txt"
    path.write_text("country,rating\n")
    with pytest.raises(RiskImportError, match="problems"):
        country_risk_import(path=path)


@pytest.mark.django_db
def test_an_xlsx_with_date_and_number_cells_is_imported(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(COUNTRY_HEADER)
    sheet.append(["ar", 9, NEXT_QUARTER, "Test source", "2027Q1"])  # a real date cell
    sheet.append(["BR", 6.0, "2026-10-01", SOURCE, "2026Q4"])  # as shipped
    path = tmp_path / "countries.xlsx"
    workbook.save(path)
    summary = country_risk_import(path=path)
    assert (summary.created, summary.unchanged) == (1, 1)
    assert current_country_ratings(NEXT_QUARTER)["AR"] == 9


@pytest.mark.django_db
def test_a_dry_run_reports_without_writing(tmp_path):
    summary = country_risk_import(
        path=quarter_file(tmp_path, [("TR", 7, "2027-01-01")]), dry_run=True
    )
    assert len(summary.downgrades) == 1
    assert not CountryRisk.objects.filter(effective_date=NEXT_QUARTER).exists()


@pytest.mark.django_db
def test_country_downgrades_since_a_date(tmp_path):
    country_risk_import(
        path=quarter_file(
            tmp_path,
            [("TR", 7, "2027-01-01"), ("GR", 3, "2027-01-01"), ("EG", 9, "2027-04-01")],
        )
    )
    assert country_downgrades(since=date(2026, 12, 1)) == [
        ("TR", 6, 7, NEXT_QUARTER),
        ("EG", 7, 9, date(2027, 4, 1)),
    ]
    assert country_downgrades(since=date(2027, 2, 1)) == [("EG", 7, 9, date(2027, 4, 1))]
    assert country_downgrades(since=date(2026, 12, 1), until=date(2027, 3, 31)) == [
        ("TR", 6, 7, NEXT_QUARTER)
    ]
    assert country_downgrades(since=date(2026, 1, 1), until=date(2026, 12, 31)) == []


@pytest.mark.django_db
def test_the_country_import_command_prints_the_changes(tmp_path):
    out = io.StringIO()
    call_command(
        "import_country_risk", str(quarter_file(tmp_path, [("TR", 7, "2027-01-01")])), stdout=out
    )
    text = out.getvalue()
    assert "downgrade TR: 6 → 7 from 2027-01-01" in text
    assert "1 downgrades" in text


@pytest.mark.django_db
def test_the_country_import_command_lists_errors_and_fails(tmp_path):
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing imported"):
        call_command(
            "import_country_risk",
            str(quarter_file(tmp_path, [("XX", 1, "2027-01-01")])),
            stderr=err,
        )
    assert "row 2, country" in err.getvalue()


@pytest.mark.django_db
def test_sector_imports_check_the_section_and_keep_history(tmp_path):
    header = ["nace_section", "rating", "effective_date", "source"]
    bad = write_csv(tmp_path / "bad.csv", header, [["Z", 5, "2027-01-01", "Test"]])
    with pytest.raises(RiskImportError) as raised:
        sector_risk_import(path=bad)
    assert (raised.value.errors[0].row, raised.value.errors[0].column) == (2, "nace_section")

    good = write_csv(tmp_path / "good.csv", header, [["f", 8, "2027-01-01", "Test"]])
    summary = sector_risk_import(path=good)
    assert [(c.code, c.old_rating, c.new_rating) for c in summary.downgrades] == [("F", 7, 8)]
    assert SectorRisk.objects.filter(nace_section="F").count() == 2
    assert current_sector_ratings(NEXT_QUARTER)["F"] == 8
    assert sector_downgrades(since=NEXT_QUARTER) == [("F", 7, 8, NEXT_QUARTER)]
    out = io.StringIO()
    call_command("import_sector_risk", str(good), stdout=out)
    assert "0 written" in out.getvalue()
