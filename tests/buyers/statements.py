"""One plausible financial statement's figures, as text (as an ERP, a form or a file sends
them); the tests of every entry point start from it."""

FIGURES = {
    "revenue": "10000000",
    "ebit": "800000",
    "net_income": "550000",
    "total_assets": "6000000",
    "current_assets": "2500000",
    "current_liabilities": "1500000",
    "total_liabilities": "3600000",
    "retained_earnings": "1200000",
    "equity": "2400000",
}
