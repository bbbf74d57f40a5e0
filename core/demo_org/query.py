"""Run parsed SOQL against the store and shape the result like the REST query resource."""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from core.demo_org import soql
from core.demo_org.errors import ApiError
from core.demo_org.ids import normalize_id
from core.demo_org.schema import NAME_ENTITY, STRING_TYPES, FieldSpec, ObjectSpec, find_object
from core.demo_org.store import Store
from core.demo_org.values import parse_date, parse_datetime

# Salesforce returns at most 2,000 records per query batch.
DEFAULT_BATCH_SIZE = 2000
_MAX_OPEN_CURSORS = 100

Record = dict[str, Any]


@dataclass(frozen=True)
class ResolvedPath:
    """A field path checked against the schema: the reference fields to follow, then the leaf field."""

    hops: tuple[FieldSpec, ...]
    leaf: FieldSpec
    polymorphic_leaf: bool  # the leaf is read on the Name entity (after Owner., Who., What.)


@dataclass(frozen=True)
class BoundComparison:
    path: ResolvedPath
    operator: str
    values: tuple[Any, ...]
    pattern: re.Pattern[str] | None = None


class QueryCursors:
    """Remaining batches of queries larger than one batch, by locator (``nextRecordsUrl``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: dict[str, tuple[list[Record], int, int]] = {}

    def open(self, records: list[Record], total: int, batch_size: int) -> str:
        """Keep the records not yet returned; return the locator that fetches them."""
        locator = "01g" + secrets.token_hex(6)
        with self._lock:
            if len(self._batches) >= _MAX_OPEN_CURSORS:
                self._batches.pop(next(iter(self._batches)))
            self._batches[locator] = (records, total, batch_size)
        return locator

    def take(self, locator: str) -> tuple[list[Record], int, int] | None:
        """Return (remaining records, total size, batch size) once; a locator cannot be read twice."""
        with self._lock:
            return self._batches.pop(locator, None)

    def clear(self) -> None:
        with self._lock:
            self._batches.clear()


def run_query(store: Store, text: str, *, version: str, cursors: QueryCursors, batch_size: int) -> dict[str, Any]:
    """Run a SOQL statement and return the first batch as GET /query does.

    Raises ApiError: 400 MALFORMED_QUERY, INVALID_TYPE, INVALID_FIELD or INVALID_QUERY_FILTER_OPERATOR.
    """
    query = soql.parse(text)
    sobject = find_object(query.sobject)
    if sobject is None:
        raise ApiError(400, "INVALID_TYPE", f"ERROR at Row:1:Column:{query.sobject_column}\nsObject type '{query.sobject}' is not supported.")

    selected = [(path, resolve_path(sobject, path)) for path in query.fields]
    where = _bind(sobject, query.where) if query.where else None
    order = [(item, resolve_path(sobject, item.field)) for item in query.order_by]

    lookup = _RecordLookup(store)
    records = [
        record
        for record in store.list_records(sobject.name)
        if where is None or _matches(where, record, sobject.name, lookup)
    ]
    _sort(records, sobject.name, order, lookup)
    records = records[query.offset or 0 :]
    if query.limit is not None:
        records = records[: query.limit]

    if query.count_only:
        return {"totalSize": len(records), "done": True, "records": []}

    shaped = [_shape(sobject.name, record, selected, lookup, version) for record in records]
    return page_of(shaped, total=len(shaped), offset=0, version=version, cursors=cursors, batch_size=batch_size)


def page_of(
    records: list[Record], *, total: int, offset: int, version: str, cursors: QueryCursors, batch_size: int
) -> dict[str, Any]:
    """Return one batch of a query result; `offset` counts the records earlier batches returned.

    The records after this batch stay under a new locator, named in ``nextRecordsUrl``.
    """
    result: dict[str, Any] = {"totalSize": total, "done": len(records) <= batch_size, "records": records[:batch_size]}
    if len(records) > batch_size:
        locator = cursors.open(records[batch_size:], total, batch_size)
        result["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + batch_size}"
    return result


def resolve_path(sobject: ObjectSpec, path: soql.FieldPath) -> ResolvedPath:
    """Check a field path against the schema. Raises ApiError (400 INVALID_FIELD) on an unknown name."""
    hops: list[FieldSpec] = []
    current = sobject
    polymorphic = False
    for part in path.parts[:-1]:
        reference = current.relationship(part) if not polymorphic else None
        if reference is None:
            raise _invalid_field(path, f"Didn't understand relationship '{part}' in field path.")
        hops.append(reference)
        polymorphic = len(reference.reference_to) > 1
        current = NAME_ENTITY if polymorphic else find_object(reference.reference_to[0])  # type: ignore[assignment]

    leaf = current.get_field(path.parts[-1])
    if leaf is None:
        entity = current.name if hops else sobject.name
        raise _invalid_field(path, f"No such column '{path.parts[-1]}' on entity '{entity}'.")
    return ResolvedPath(tuple(hops), leaf, polymorphic)


def _invalid_field(path: soql.FieldPath, detail: str) -> ApiError:
    return ApiError(400, "INVALID_FIELD", f"ERROR at Row:1:Column:{path.column}\n{detail}")


class _RecordLookup:
    """Cached reads of related records while one query runs."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, tuple[str, Record] | None] = {}

    def get(self, record_id: str) -> tuple[str, Record] | None:
        """Return (sobject, fields) of a live record, or None."""
        if record_id not in self._cache:
            stored = self._store.get_record(record_id)
            self._cache[record_id] = None if stored is None or stored.is_deleted else (stored.sobject, stored.fields)
        return self._cache[record_id]


def _leaf_value(sobject: str, record: Record, path: ResolvedPath) -> Any:
    if path.polymorphic_leaf and path.leaf.name == "Type":
        return "User" if sobject == "User" else record.get("Type", sobject)
    return record.get(path.leaf.name)


def _value_at(record: Record, sobject: str, path: ResolvedPath, lookup: _RecordLookup) -> Any:
    current_type, current = sobject, record
    for hop in path.hops:
        reference = current.get(hop.name)
        related = lookup.get(reference) if reference else None
        if related is None:
            return None
        current_type, current = related
    return _leaf_value(current_type, current, path)


# Filtering


def _bind(sobject: ObjectSpec, condition: soql.Condition) -> Any:
    """Resolve the fields of a condition and convert its literals to comparable values."""
    if isinstance(condition, soql.Junction):
        return soql.Junction(condition.operator, tuple(_bind(sobject, operand) for operand in condition.operands))
    if isinstance(condition, soql.Negation):
        return soql.Negation(_bind(sobject, condition.operand))

    path = resolve_path(sobject, condition.field)
    if condition.operator == "LIKE":
        literal = condition.values[0]
        if path.leaf.type not in STRING_TYPES or literal.kind != "string":
            raise _filter_error(f"invalid operator LIKE on field '{condition.field.text}' of type {path.leaf.type}")
        return BoundComparison(path, "LIKE", (), soql.like_to_regex(literal.raw, literal.column))

    values = tuple(_convert_literal(path.leaf, condition.field, literal) for literal in condition.values)
    return BoundComparison(path, condition.operator, values)


def _filter_error(message: str) -> ApiError:
    return ApiError(400, "INVALID_QUERY_FILTER_OPERATOR", message)


def _convert_literal(leaf: FieldSpec, field: soql.FieldPath, literal: soql.Literal) -> Any:
    """Convert a literal to the form `_comparable` gives stored values of `leaf`."""
    if literal.kind == "null":
        return None

    expected = {"boolean": "boolean", "int": "number", "double": "number", "date": "date", "datetime": "datetime"}.get(
        leaf.type, "string"
    )
    if literal.kind != expected:
        quoting = "should be enclosed in quotes" if expected == "string" else "should not be enclosed in quotes"
        raise _filter_error(f"value of filter criterion for field '{field.text}' must be of type {leaf.type} and {quoting}")

    if expected != "string":
        return literal.value
    text = soql.decode_string(literal.raw, literal.column)
    if leaf.type in ("id", "reference"):
        record_id = normalize_id(text)
        if record_id is None:
            raise _filter_error(f"invalid ID field: {text}")
        return record_id
    return text.casefold()


def _comparable(leaf: FieldSpec, value: Any) -> Any:
    """Return a stored value in the form literals are compared with (case-folded strings, parsed datetimes)."""
    if value is None:
        return None
    if leaf.type == "datetime":
        return parse_datetime(value)
    if leaf.type == "date":
        return parse_date(value)
    if leaf.type in STRING_TYPES:
        return str(value).casefold()
    return value


def _matches(condition: Any, record: Record, sobject: str, lookup: _RecordLookup) -> bool:
    if isinstance(condition, soql.Junction):
        results = (_matches(operand, record, sobject, lookup) for operand in condition.operands)
        return all(results) if condition.operator == "AND" else any(results)
    if isinstance(condition, soql.Negation):
        return not _matches(condition.operand, record, sobject, lookup)

    comparison: BoundComparison = condition
    raw = _value_at(record, sobject, comparison.path, lookup)
    value = _comparable(comparison.path.leaf, raw)
    return _compare(value, raw, comparison)


def _compare(value: Any, raw: Any, comparison: BoundComparison) -> bool:
    operator = comparison.operator
    if operator == "LIKE":
        return raw is not None and comparison.pattern is not None and comparison.pattern.fullmatch(str(raw)) is not None
    if operator == "IN":
        return value in comparison.values
    if operator == "NOT IN":
        return value not in comparison.values

    expected = comparison.values[0]
    if operator == "=":
        return value == expected
    if operator == "!=":
        return value != expected
    if value is None or expected is None:
        return False
    if operator == "<":
        return value < expected
    if operator == "<=":
        return value <= expected
    if operator == ">":
        return value > expected
    return value >= expected


# Ordering and shaping


def _sort(
    records: list[Record], sobject: str, order: list[tuple[soql.OrderItem, ResolvedPath]], lookup: _RecordLookup
) -> None:
    """Sort in place by several keys, applying them from last to first (list.sort is stable)."""
    for item, path in reversed(order):
        # Rank nulls so that, after an optional reverse, they land first or last as requested.
        null_rank = 0 if item.nulls_first != item.descending else 1

        def key(record: Record, path: ResolvedPath = path, null_rank: int = null_rank) -> tuple[int, Any]:
            value = _comparable(path.leaf, _value_at(record, sobject, path, lookup))
            if value is None:
                return (null_rank, 0)
            return (1 - null_rank, value)

        records.sort(key=key, reverse=item.descending)


def attributes(sobject: str, record_id: str, version: str) -> dict[str, str]:
    """Return the ``attributes`` object Salesforce puts on every record."""
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def _shape(
    sobject: str,
    record: Record,
    selected: list[tuple[soql.FieldPath, ResolvedPath]],
    lookup: _RecordLookup,
    version: str,
) -> Record:
    """Build one result record, nesting relationship fields as Salesforce does."""
    shaped: Record = {"attributes": attributes(sobject, record["Id"], version)}
    for _, path in selected:
        _place(shaped, sobject, record, path, 0, lookup, version)
    return shaped


def _place(
    target: Record, sobject: str, record: Record, path: ResolvedPath, depth: int, lookup: _RecordLookup, version: str
) -> None:
    if depth == len(path.hops):
        target[path.leaf.name] = _leaf_value(sobject, record, path)
        return

    hop = path.hops[depth]
    relationship = hop.relationship_name or hop.name
    reference = record.get(hop.name)
    related = lookup.get(reference) if reference else None
    if related is None:
        target[relationship] = None
        return

    related_type, related_record = related
    nested = target.get(relationship)
    if nested is None:
        nested = {"attributes": attributes(related_type, reference, version)}
        if len(hop.reference_to) > 1:
            nested["attributes"]["type"] = "Name"
        target[relationship] = nested
    _place(nested, related_type, related_record, path, depth + 1, lookup, version)


