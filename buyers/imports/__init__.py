"""Spreadsheet imports, by step: `reading` (upload checks, CSV/XLSX into a table of text),
`mapping` (each kind's fields, the column mapping, rows keyed by field name), `validation`
(rows through `buyers.records`, errors back in the user's row and column) and `jobs` (upload,
map, preview, queue and the all-or-nothing run behind the `buyers.import_run` task).

Record rules are not here: `buyers.records.parse_records` parses and validates rows and
`buyers.bulk.bulk_upsert` writes them.
"""

from .jobs import (
    PREVIEW_ERRORS,
    PREVIEW_ROWS,
    Preview,
    PreviewRow,
    error_report_csv,
    import_job_create,
    import_job_errors,
    import_job_map,
    import_job_preview,
    import_job_queue,
    import_job_run,
    import_progress,
)
from .mapping import (
    IMPORT_FIELDS,
    TargetField,
    auto_mapping,
    import_fields,
    mapped_rows,
    missing_required_fields,
    normalised_column_name,
)
from .reading import (
    IMPORT_MAX_ROWS,
    IMPORT_MAX_UPLOAD_BYTES,
    ImportFileError,
    Sheet,
    cell_text,
    detect_delimiter,
    file_format_of,
    read_job_sheet,
    read_sheet,
    upload_check,
)
from .validation import RowError, Validation, reference_errors, sheet_row_numbers, validate_rows

__all__ = [
    "IMPORT_FIELDS",
    "IMPORT_MAX_ROWS",
    "IMPORT_MAX_UPLOAD_BYTES",
    "PREVIEW_ERRORS",
    "PREVIEW_ROWS",
    "ImportFileError",
    "Preview",
    "PreviewRow",
    "RowError",
    "Sheet",
    "TargetField",
    "Validation",
    "auto_mapping",
    "cell_text",
    "detect_delimiter",
    "error_report_csv",
    "file_format_of",
    "import_fields",
    "import_job_create",
    "import_job_errors",
    "import_job_map",
    "import_job_preview",
    "import_job_queue",
    "import_job_run",
    "import_progress",
    "mapped_rows",
    "missing_required_fields",
    "normalised_column_name",
    "read_job_sheet",
    "read_sheet",
    "reference_errors",
    "sheet_row_numbers",
    "upload_check",
    "validate_rows",
]
