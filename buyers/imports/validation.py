"""Validation of mapped rows: every row through `buyers.records.parse_records`, references
checked in sets, and every record error turned back into the user's coordinates: the
spreadsheet row number (the header is row 1, the first data row is row 2) and the column name
in their file."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.utils.translation import gettext as _

from creditguard.tenancy.context import tenant_context
from creditguard.tenancy.models import Tenant

from ..models import Buyer, ImportJob, Invoice
from ..records import NON_FIELD_ERRORS, RecordError, parse_records
from .mapping import import_fields
from .reading import Sheet

# Validation runs in chunks so the progress bar moves; about 50 steps for a big file.
PROGRESS_STEPS = 50
MIN_CHUNK_ROWS = 500


# --- Validation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A problem in the user's file, in their coordinates; `row` is None for the whole file."""

    row: int | None
    column: str
    value: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Validation:
    errors: list[RowError]
    row_count: int

    @property
    def valid_row_count(self) -> int:
        return self.row_count - len({error.row for error in self.errors if error.row is not None})


@dataclass(frozen=True)
class _Source:
    """The rows (positions in the file's data rows) that one record input was built from."""

    row: int
    allocation_rows: tuple[int, ...] = ()


@dataclass
class _Assembly:
    """Mapped rows turned into `parse_records` inputs, remembering where each came from."""

    rows: Sequence[Mapping[str, str]]
    row_numbers: Sequence[int]
    mapping: Mapping[str, str]
    inputs: list[dict[str, Any]]
    sources: list[_Source]
    # (row position, field, message) found while assembling: duplicates, inconsistent payments
    problems: list[tuple[int, str, str]]

    def row_error(self, error: RecordError) -> RowError:
        source = self.sources[error.index]
        position, field = _locate(error.field, source)
        return self.error_at(position, field, str(error.message))

    def error_at(self, position: int, field: str, message: str) -> RowError:
        return RowError(
            row=self.row_numbers[position],
            column=self.mapping.get(field) or field,
            value=str(self.rows[position].get(field, "")),
            message=message,
        )

    def assembly_errors(self) -> list[RowError]:
        return [self.error_at(*problem) for problem in self.problems]


_ALLOCATION_FIELD = re.compile(r"^allocations\[(\d+)\](?:\.(\w+))?$")
_ALLOCATION_COLUMNS = {
    "invoice_erp_reference": "invoice_erp_reference",
    "amount": "allocated_amount",
}


def _locate(field: str, source: _Source) -> tuple[int, str]:
    """The row position and import field that a record error's field points at."""
    allocation = _ALLOCATION_FIELD.match(field)
    if allocation:
        number = int(allocation[1])
        rows = source.allocation_rows
        position = rows[number] if number < len(rows) else source.row
        return position, _ALLOCATION_COLUMNS.get(allocation[2] or "", "allocated_amount")
    if field == "allocations":
        return (source.allocation_rows or (source.row,))[-1], "allocated_amount"
    if field == NON_FIELD_ERRORS:
        return source.row, ""
    return source.row, field


def _value(row: Mapping[str, str], field: str) -> str:
    return (row.get(field) or "").strip()


# The fields that identify a record within one file, and the one a duplicate is reported on.
_NATURAL_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    ImportJob.Kind.BUYERS: (("erp_reference",), "erp_reference"),
    ImportJob.Kind.INVOICES: (("erp_reference",), "erp_reference"),
    ImportJob.Kind.FINANCIAL_STATEMENTS: (("buyer_erp_reference", "period_end"), "period_end"),
}
_PAYMENT_FIELDS = ("buyer_erp_reference", "received_date", "amount", "currency")
_ALLOCATION_INPUTS = ("invoice_erp_reference", "allocated_amount")


def _assemble(
    kind: str,
    rows: Sequence[Mapping[str, str]],
    row_numbers: Sequence[int],
    mapping: Mapping[str, str],
) -> _Assembly:
    """One record input per row, or for payments one per payment reference.

    Duplicates are found here, over the whole file, rather than by `parse_records`: validation
    runs in chunks, and the message must name the earlier spreadsheet row.
    """
    assembly = _Assembly(rows, row_numbers, mapping, inputs=[], sources=[], problems=[])
    if kind == ImportJob.Kind.PAYMENTS:
        _assemble_payments(assembly)
        return assembly
    key_fields, reported_field = _NATURAL_KEYS[kind]
    first_position: dict[tuple[str, ...], int] = {}
    for position, row in enumerate(rows):
        key = tuple(_value(row, field) for field in key_fields)
        if all(key):
            earlier = first_position.setdefault(key, position)
            if earlier != position:
                assembly.problems.append(
                    (
                        position,
                        reported_field,
                        _("Duplicate of row %(row)d.") % {"row": row_numbers[earlier]},
                    )
                )
                continue
        assembly.inputs.append(dict(row))
        assembly.sources.append(_Source(position))
    return assembly


def _assemble_payments(assembly: _Assembly) -> None:
    """Rows that share a payment reference are one payment with one allocation per row."""
    rows, row_numbers = assembly.rows, assembly.row_numbers
    by_reference: dict[str, int] = {}
    for position, row in enumerate(rows):
        allocation = None
        if any(_value(row, field) for field in _ALLOCATION_INPUTS):
            allocation = {
                "invoice_erp_reference": row.get("invoice_erp_reference", ""),
                "amount": row.get("allocated_amount", ""),
            }
        reference = _value(row, "erp_reference")
        index = by_reference.get(reference) if reference else None
        if index is None:
            payment = {
                field: value for field, value in row.items() if field not in _ALLOCATION_INPUTS
            }
            payment["allocations"] = [allocation] if allocation else []
            if reference:
                by_reference[reference] = len(assembly.inputs)
            assembly.inputs.append(payment)
            assembly.sources.append(_Source(position, (position,) if allocation else ()))
            continue
        source = assembly.sources[index]
        first_row = row_numbers[source.row]
        differing = [
            field
            for field in _PAYMENT_FIELDS
            if _value(row, field) != _value(rows[source.row], field)
        ]
        if differing:
            assembly.problems.append(
                (
                    position,
                    differing[0],
                    _("Row %(row)d has the same payment reference with a different value.")
                    % {"row": first_row},
                )
            )
        elif allocation is None:
            assembly.problems.append(
                (position, "erp_reference", _("Duplicate of row %(row)d.") % {"row": first_row})
            )
        else:
            assembly.inputs[index]["allocations"].append(allocation)
            assembly.sources[index] = _Source(source.row, (*source.allocation_rows, position))


def _chunk_size(input_count: int) -> int:
    return max(MIN_CHUNK_ROWS, -(-input_count // PROGRESS_STEPS))


def _existing(model: type[Buyer] | type[Invoice], references: set[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(references)
    for start in range(0, len(ordered), 5_000):
        found.update(
            model.objects.filter(erp_reference__in=ordered[start : start + 5_000]).values_list(
                "erp_reference", flat=True
            )
        )
    return found


def reference_errors(kind: str, inputs: Sequence[Mapping[str, Any]]) -> list[RecordError]:
    """Inputs that name a buyer (or an invoice) that neither the database nor the file holds.

    Checked on the raw inputs, so unknown references show up next to every other error.
    A preview convenience: `bulk_upsert` resolves references again inside its transaction.
    Needs the tenant active.
    """
    errors: list[RecordError] = []
    if kind == ImportJob.Kind.BUYERS:
        in_file = {_value(values, "erp_reference") for values in inputs}
        wanted = {_value(values, "parent_erp_reference") for values in inputs} - in_file - {""}
        unknown = wanted - _existing(Buyer, wanted)
        errors.extend(
            RecordError(index, "parent_erp_reference", _("Unknown parent buyer."))
            for index, values in enumerate(inputs)
            if _value(values, "parent_erp_reference") in unknown
        )
        return errors
    wanted = {_value(values, "buyer_erp_reference") for values in inputs} - {""}
    unknown = wanted - _existing(Buyer, wanted)
    errors.extend(
        RecordError(index, "buyer_erp_reference", _("Unknown buyer."))
        for index, values in enumerate(inputs)
        if _value(values, "buyer_erp_reference") in unknown
    )
    if kind == ImportJob.Kind.PAYMENTS:
        allocated = [
            (index, number, _value(allocation, "invoice_erp_reference"))
            for index, values in enumerate(inputs)
            for number, allocation in enumerate(values["allocations"])
        ]
        wanted = {reference for _index, _number, reference in allocated} - {""}
        unknown = wanted - _existing(Invoice, wanted)
        errors.extend(
            RecordError(
                index, f"allocations[{number}].invoice_erp_reference", _("Unknown invoice.")
            )
            for index, number, reference in allocated
            if reference in unknown
        )
    return errors


def validate_rows(
    *,
    tenant: Tenant,
    kind: str,
    rows: Sequence[Mapping[str, str]],
    row_numbers: Sequence[int],
    mapping: Mapping[str, str],
    on_progress: Callable[[int], None] | None = None,
    cell_problems: Sequence[tuple[int, str, str]] = (),
    file_errors: Sequence[RowError] = (),
) -> tuple[Validation, _Assembly]:
    """Every row through `parse_records` (in chunks, reporting progress), then references.

    `cell_problems` (row position, field, message) were found before, when the values were read
    (see `mapping.localised_rows`); the records' own error on such a cell is left out, the
    earlier message says more. `file_errors` concern the whole file and come first.
    Without a transaction of its own: the reference check opens a short one with the tenant.
    """
    assembly = _assemble(kind, rows, row_numbers, mapping)
    read_errors = [assembly.error_at(*problem) for problem in cell_problems]
    inputs = assembly.inputs
    record_errors: list[RecordError] = []
    step = _chunk_size(len(inputs))
    for start in range(0, len(inputs), step):
        _records, chunk_errors = parse_records(kind, inputs[start : start + step])
        record_errors.extend(
            RecordError(error.index + start, error.field, error.message) for error in chunk_errors
        )
        if on_progress is not None:
            done = min(start + step, len(inputs))
            on_progress(len(rows) * done // max(len(inputs), 1))
    with tenant_context(tenant):
        record_errors.extend(reference_errors(kind, inputs))
    unreadable = {(error.row, error.column) for error in read_errors}
    errors = (
        read_errors
        + assembly.assembly_errors()
        + [
            row_error
            for row_error in (assembly.row_error(error) for error in record_errors)
            if (row_error.row, row_error.column) not in unreadable
        ]
    )
    field_order = {field.name: order for order, field in enumerate(import_fields(kind))}
    column_order = {
        mapping[name]: order for name, order in field_order.items() if mapping.get(name)
    }
    errors.sort(
        key=lambda error: (error.row or 0, column_order.get(error.column, len(field_order)))
    )
    return Validation(errors=[*file_errors, *errors], row_count=len(rows)), assembly


def sheet_row_numbers(sheet: Sheet) -> list[int]:
    return [int(number) for number in sheet.frame.index]
