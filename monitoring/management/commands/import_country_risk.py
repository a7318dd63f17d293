from monitoring.risk import country_risk_import

from ._risk_import import RiskImportCommand


class Command(RiskImportCommand):
    help = (
        "Import country risk ratings (CSV or XLSX: country, rating 1–10, effective_date, "
        "source, data_version). All or nothing; history is kept per effective date."
    )
    importer = staticmethod(country_risk_import)
