"""Hot statements whose SQL the ORM builds once per process.

The paid-order path runs the same few statements for every order; building each with the
ORM (clone the queryset, resolve the lookups, compile) costs more CPU than PostgreSQL
spends answering it. A :class:`PreparedQuery` keeps one code path: the ORM still writes
the statement, from a builder that receives :class:`Param` placeholders where the values
go, once per process and database connection alias; each run then executes that SQL with
its values (prepared for the database as the ORM prepares a lookup's value) and turns the
rows into what the ORM would return (its converters, model instances, the objects of
``select_related``).

What the cache cannot see is checked instead: ``FOR UPDATE`` outside a transaction is
refused as the ORM refuses it, and :meth:`PreparedQuery.orm_sql_with_params` builds the
same statement from concrete values, which the tests compare with the cached one (same
SQL, same parameters) on SQLite and PostgreSQL, so a model or Django change that alters a
statement fails there rather than running stale SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Expression, Field, Model, QuerySet
from django.db.models.query import (  # type: ignore[attr-defined]  # not in django-stubs
    get_related_populators,  # what ModelIterable calls for the objects of select_related
)
from django.db.models.sql import UpdateQuery
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)


@dataclass(frozen=True, eq=False)
class _Slot:
    """Where a value goes in the compiled parameters (found by identity)."""

    name: str
    field: Field
    save: bool = False  # a value written (get_db_prep_save), not compared


def _slot_value(slot: _Slot, value: Any, connection: Any) -> Any:
    if slot.save:
        return slot.field.get_db_prep_save(value, connection)
    return slot.field.get_db_prep_value(value, connection, prepared=False)


class Param(Expression):
    """A value given when the statement runs, compiled as one ``%s``; ``field`` prepares
    it for the database (``get_db_prep_value``), as a lookup on that field would."""

    def __init__(self, name: str, *, field: Field, save: bool = False) -> None:
        super().__init__(output_field=field)
        self.name = name
        self.prep_field = field
        self.save = save

    def __repr__(self) -> str:
        return f"Param({self.name!r})"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [_Slot(self.name, self.prep_field, self.save)]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]  # constants, and _Slot where a value goes
    for_update: bool
    col_count: int
    converters: dict[int, Any]
    # model instances (None for values())
    model: type[Model] | None
    model_cols: tuple[int, int]
    init_list: list[str]
    populators: list[Any]
    annotation_col_map: dict[str, int]


def _converted(rows: Any, *, converters: dict[int, Any], connection: Any) -> list[list[Any]]:
    """``SQLCompiler.apply_converters`` with the running thread's connection (a compiler
    belongs to the connection, so the thread, that built the statement)."""
    found = []
    for row in map(list, rows):
        for pos, (convs, expression) in converters.items():
            value = row[pos]
            for converter in convs:
                value = converter(value, expression, connection)
            row[pos] = value
        found.append(row)
    return found


class PreparedQuery(Generic[M]):
    """A SELECT built by ``build(**params)`` from :class:`Param` placeholders once per
    process and connection alias, then run with values: ``fetch`` (model instances),
    ``fetch_values`` (the rows of a ``values()`` query, as tuples).

    ``params`` names each value and the model field that prepares it. ``build`` must put
    every value that changes between runs in a parameter: anything else it reads (the
    date, a setting) is frozen at the first run.
    """

    def __init__(
        self, *, name: str, build: Callable[..., QuerySet[M, Any]], params: Mapping[str, Field]
    ) -> None:
        self.name = name
        self._build = build
        self._params = dict(params)
        self._compiled: dict[str, _Compiled] = {}

    def __repr__(self) -> str:
        return f"PreparedQuery({self.name!r})"

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(self._params)

    # --- running -------------------------------------------------------------------------

    def fetch(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[M]:
        """The rows as model instances (with their ``select_related`` objects)."""
        compiled, rows = self._run(using=using, values=values)
        model = compiled.model
        if model is None:
            raise TypeError(f"{self.name}: a values() statement; use fetch_values()")
        start, end = compiled.model_cols
        found: list[M] = []
        for row in rows:
            obj = model.from_db(using, compiled.init_list, row[start:end])
            for populator in compiled.populators:
                populator.populate(row, obj)
            for attr, pos in compiled.annotation_col_map.items():
                setattr(obj, attr, row[pos])
            found.append(obj)  # type: ignore[arg-type]  # model is M's class
        return found

    def fetch_values(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple]:
        """The rows of a ``values()`` / ``values_list()`` statement, as tuples."""
        _compiled, rows = self._run(using=using, values=values)
        return [tuple(row) for row in rows]

    def _run(self, *, using: str, values: Mapping[str, Any]) -> tuple[_Compiled, Any]:
        connection = connections[using]
        compiled = self._compiled.get(using) or self._compile(using=using)
        if compiled.for_update and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = self._params_bind(compiled=compiled, connection=connection, values=values)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows: Any = cursor.fetchall()
        if len(rows) and len(rows[0]) > compiled.col_count:  # ordering columns, extra select
            rows = [row[: compiled.col_count] for row in rows]
        if compiled.converters:
            rows = _converted(rows, converters=compiled.converters, connection=connection)
        return compiled, rows

    def _params_bind(
        self, *, compiled: _Compiled, connection: Any, values: Mapping[str, Any]
    ) -> list[Any]:
        if set(values) != set(self._params):
            raise TypeError(f"{self.name}: values for {sorted(self._params)}, got {sorted(values)}")
        return [
            _slot_value(p, values[p.name], connection) if isinstance(p, _Slot) else p
            for p in compiled.params
        ]

    # --- building ------------------------------------------------------------------------

    def _queryset(self, *, using: str, values: Mapping[str, Any] | None) -> QuerySet[M, Any]:
        if values is None:
            values = {name: Param(name, field=field) for name, field in self._params.items()}
        return self._build(**values).using(using)

    def _compile(self, *, using: str) -> _Compiled:
        queryset = self._queryset(using=using, values=None)
        compiler = queryset.query.get_compiler(using=using)
        # FOR UPDATE outside a transaction is refused here by the ORM; checked on every run
        sql, params = compiler.as_sql()
        found = {p.name for p in params if isinstance(p, _Slot)}
        if found != set(self._params):
            raise ValueError(
                f"{self.name}: each parameter must appear in the statement "
                f"({sorted(self._params)}, found {sorted(found)})"
            )
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        klass_info = compiler.klass_info
        model = None
        model_cols = (0, 0)
        init_list: list[str] = []
        populators: list[Any] = []
        if klass_info is not None and queryset._iterable_class.__name__ == "ModelIterable":
            model = klass_info["model"]
            select_fields = klass_info["select_fields"]
            model_cols = (select_fields[0], select_fields[-1] + 1)
            init_list = [
                f[0].target.attname for f in compiler.select[model_cols[0] : model_cols[1]]
            ]
            populators = get_related_populators(klass_info, compiler.select, using)
        compiled = _Compiled(
            sql=sql,
            params=tuple(params),
            for_update=bool(queryset.query.select_for_update),
            col_count=compiler.col_count,
            converters=compiler.get_converters(fields),
            model=model,
            model_cols=model_cols,
            init_list=init_list,
            populators=populators,
            annotation_col_map=dict(compiler.annotation_col_map or {}),
        )
        self._compiled[using] = compiled
        return compiled

    # --- checking ------------------------------------------------------------------------

    def sql_with_params(
        self, *, using: str = DEFAULT_DB_ALIAS, **values: Any
    ) -> tuple[str, list[Any]]:
        """The cached statement with these values bound (``(%s)`` written ``%s``, as
        :meth:`orm_sql_with_params` writes it)."""
        connection = connections[using]
        compiled = self._compiled.get(using) or self._compile(using=using)
        params = self._params_bind(compiled=compiled, connection=connection, values=values)
        return compiled.sql.replace("(%s)", "%s"), params

    def orm_sql_with_params(
        self, *, using: str = DEFAULT_DB_ALIAS, **values: Any
    ) -> tuple[str, list[Any]]:
        """The statement the ORM builds from these values now (what the cache replaces).

        The ORM puts an expression on the right of a lookup in parentheses, so the cached
        statement reads ``= (%s)`` where the ORM, given a plain value, writes ``= %s``: the
        same statement. Both are returned with ``(%s)`` written ``%s``."""
        queryset = self._queryset(using=using, values=values)
        sql, params = queryset.query.get_compiler(using=using).as_sql()
        return sql.replace("(%s)", "%s"), list(params)


class PreparedUpdate:
    """An ``UPDATE`` built by the ORM once per process and connection alias, as
    ``queryset.update(**values)`` builds it: ``build(**params)`` returns the queryset and
    the values to write, :class:`Param` placeholders where they change between runs
    (``save=True``: prepared as a field's value is for writing). Like ``update()``, it
    sends no signal; :meth:`run` returns the number of rows changed."""

    def __init__(
        self,
        *,
        name: str,
        build: Callable[..., tuple[QuerySet[Any], dict[str, Any]]],
        params: Mapping[str, Field],
    ) -> None:
        self.name = name
        self._build = build
        self._params = dict(params)
        self._compiled: dict[str, tuple[str, tuple[Any, ...]]] = {}

    def __repr__(self) -> str:
        return f"PreparedUpdate({self.name!r})"

    def run(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> int:
        connection = connections[using]
        sql, params = self._bound(using=using, values=values)
        with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def _bound(self, *, using: str, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        if set(values) != set(self._params):
            raise TypeError(f"{self.name}: values for {sorted(self._params)}, got {sorted(values)}")
        compiled = self._compiled.get(using)
        if compiled is None:
            placeholders = {
                name: Param(name, field=field, save=True) for name, field in self._params.items()
            }
            sql, params = self._sql(using=using, values=placeholders)
            found = {p.name for p in params if isinstance(p, _Slot)}
            if found != set(self._params):
                raise ValueError(
                    f"{self.name}: each parameter must appear in the statement "
                    f"({sorted(self._params)}, found {sorted(found)})"
                )
            compiled = self._compiled[using] = (sql, tuple(params))
        connection = connections[using]
        sql, slots = compiled
        bound = [_slot_value(p, values[p.name], connection) if isinstance(p, _Slot) else p
                 for p in slots]  # fmt: skip
        return sql, bound

    def _sql(self, *, using: str, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        queryset, changes = self._build(**values)
        query = cast(UpdateQuery, queryset.using(using).query.chain(UpdateQuery))
        query.add_update_values(changes)
        query.annotations = {}
        sql, params = query.get_compiler(using=using).as_sql()
        return sql, list(params)

    def sql_with_params(
        self, *, using: str = DEFAULT_DB_ALIAS, **values: Any
    ) -> tuple[str, list[Any]]:
        """The cached statement with these values bound (``(%s)`` written ``%s``)."""
        sql, params = self._bound(using=using, values=values)
        return sql.replace("(%s)", "%s"), params

    def orm_sql_with_params(
        self, *, using: str = DEFAULT_DB_ALIAS, **values: Any
    ) -> tuple[str, list[Any]]:
        """What ``queryset.update(...)`` builds from these values now."""
        sql, params = self._sql(using=using, values=values)
        return sql.replace("(%s)", "%s"), params
