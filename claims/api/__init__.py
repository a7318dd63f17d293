"""REST API of claims (mounted under /api/v1/)."""
