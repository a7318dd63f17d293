from monitoring.risk import sector_risk_import

from ._risk_import import RiskImportCommand


class Command(RiskImportCommand):
    help = (
        "Import sector risk ratings per NACE section (CSV or XLSX: nace_section, rating 1–10, "
        "effective_date, source). All or nothing; history is kept per effective date."
    )
    importer = staticmethod(sector_risk_import)
