"""Insurance API under /api/v1/: policies and versions, cover decisions, deadlines, coverage and
KPIs, overdue notifications, declarations. One module per area; `urls` joins them."""
