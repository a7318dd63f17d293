"""Spreadsheet imports, by step: `formats` (encoding, delimiter, number and date formats: detected
or chosen), `reading` (upload checks, CSV/XLSX into a table of text), `mapping` (each kind's
fields, the column mapping, rows keyed by field name, amounts and dates read in the file's
format), `validation` (rows through `buyers.records`, errors back in the user's row and column),
`jobs` (upload, map, preview, queue and the all-or-nothing run behind the `buyers.import_run`
task), `drafts` (deleting and expiring uploads never imported) and `samples` (a template file
per kind).

Record rules are not here: `buyers.records.parse_records` parses and validates rows and
`buyers.bulk.bulk_upsert` writes them.
"""

from .drafts import DRAFT_STATUSES, import_drafts_expire, import_job_delete, is_draft
from .formats import (
    DATE_ORDERS,
    DELIMITERS,
    ENCODINGS,
    NUMBER_FORMATS,
    ReadOptions,
    detect_encoding,
    read_options_of,
)
from .jobs import (
    PREVIEW_ERRORS,
    PREVIEW_ROWS,
    FileReading,
    Preview,
    PreviewCell,
    PreviewRow,
    error_report_csv,
    import_job_create,
    import_job_errors,
    import_job_map,
    import_job_preview,
    import_job_queue,
    import_job_read_options,
    import_job_reading,
    import_job_run,
    import_progress,
    job_field_columns,
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
    ENCODING_NAMES,
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
from .samples import TEMPLATE_FORMATS, template_file
from .validation import RowError, Validation, reference_errors, sheet_row_numbers, validate_rows

__all__ = [
    "DATE_ORDERS",
    "DELIMITERS",
    "DRAFT_STATUSES",
    "ENCODINGS",
    "ENCODING_NAMES",
    "IMPORT_FIELDS",
    "IMPORT_MAX_ROWS",
    "IMPORT_MAX_UPLOAD_BYTES",
    "NUMBER_FORMATS",
    "PREVIEW_ERRORS",
    "PREVIEW_ROWS",
    "TEMPLATE_FORMATS",
    "FileReading",
    "ImportFileError",
    "Preview",
    "PreviewCell",
    "PreviewRow",
    "ReadOptions",
    "RowError",
    "Sheet",
    "TargetField",
    "Validation",
    "auto_mapping",
    "cell_text",
    "detect_delimiter",
    "detect_encoding",
    "error_report_csv",
    "file_format_of",
    "import_drafts_expire",
    "import_fields",
    "import_job_create",
    "import_job_delete",
    "import_job_errors",
    "import_job_map",
    "import_job_preview",
    "import_job_queue",
    "import_job_read_options",
    "import_job_reading",
    "import_job_run",
    "import_progress",
    "is_draft",
    "job_field_columns",
    "mapped_rows",
    "missing_required_fields",
    "normalised_column_name",
    "read_job_sheet",
    "read_options_of",
    "read_sheet",
    "reference_errors",
    "sheet_row_numbers",
    "template_file",
    "upload_check",
    "validate_rows",
]
