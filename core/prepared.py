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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router, transaction
from django.db.models import Expression, Field, Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.query import (  # type: ignore[attr-defined]  # not in django-stubs
    get_related_populators,  # what ModelIterable calls for the objects of select_related
)
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery, UpdateQuery
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


# --- one row written as Model.save() writes it ----------------------------------------------
#
# ``obj.save(update_fields=...)`` and ``obj.save(force_insert=True)`` go through the whole
# save machinery (signals, the manager, a fresh query and compiler) for every row; on the
# paid-order path that costs more CPU than the statements. ``row_update`` / ``row_insert``
# write the same row with the same statement, which the ORM builds once per process per
# model and field list, and fall back to ``save()`` wherever that would not be the same:
# a model with pre_save/post_save receivers, a model whose ``save()`` override is not
# declared plain for that kind of write (``plain_save_for``), multi-table inheritance, a
# database without ``INSERT ... RETURNING``, or a value that is an expression.


def _plain_save(model: type[Model], *, kind: str) -> bool:
    """Whether ``model.save()`` adds nothing to a write of this kind ("insert" or
    "update") but the statement. A ``save()`` override counts as plain only for the kinds
    of write the class that defines it names in its own ``plain_save_for`` (a subclass
    that overrides ``save()`` again must say so again)."""
    owner = next(klass for klass in model.__mro__ if "save" in vars(klass))
    if owner is not Model and kind not in vars(owner).get("plain_save_for", ()):
        return False
    meta = model._meta
    if meta.parents or meta.proxy or meta.order_with_respect_to:
        return False
    return not (pre_save.has_listeners(model) or post_save.has_listeners(model))


_ROW_UPDATES: dict[
    tuple[type[Model], frozenset[str]], tuple[PreparedUpdate, tuple[Field, ...]]
] = {}


def _row_update_prepared(
    model: type[Model], names: frozenset[str]
) -> tuple[PreparedUpdate, tuple[Field, ...]]:
    found = _ROW_UPDATES.get((model, names))
    if found is None:
        meta = model._meta
        named = {cast(Field, meta.get_field(name)) for name in names}
        # in the model's order, as save() writes them
        fields = tuple(f for f in meta.concrete_fields if f in named)
        if len(fields) != len(named) or any(f.primary_key or f.generated for f in fields):
            raise ValueError(
                f"{meta.label}: {sorted(names)} cannot all be written by update_fields"
            )

        def build(**values: Any) -> tuple[QuerySet[Any], dict[str, Any]]:
            pk = values.pop("__pk__")
            return model._base_manager.filter(pk=pk), {f.name: values[f.attname] for f in fields}

        prepared = PreparedUpdate(
            name=f"row_update:{meta.label}:{','.join(f.name for f in fields)}",
            build=build,
            params={"__pk__": meta.pk, **{f.attname: f for f in fields}},
        )
        found = _ROW_UPDATES[(model, names)] = (prepared, fields)
    return found


def row_update(*, obj: Model, fields: Iterable[str]) -> None:
    """``obj.save(update_fields=fields)``: the same UPDATE of the row, built once per
    process for this model and field list (``pre_save`` of each field applied, as save()
    applies it); raises ``DatabaseError`` when no row changed, as save() does."""
    model, names = type(obj), frozenset(fields)
    if obj._state.adding or obj.pk is None or not _plain_save(model, kind="update"):
        obj.save(update_fields=names)
        return
    prepared, model_fields = _row_update_prepared(model, names)
    values = {f.attname: f.pre_save(obj, False) for f in model_fields}
    if any(hasattr(value, "resolve_expression") for value in values.values()):
        obj.save(update_fields=names)  # F() and other expressions: the ORM writes those
        return
    using = obj._state.db or router.db_for_write(model, instance=obj)
    if prepared.run(using=using, __pk__=obj.pk, **values) == 0:
        raise DatabaseError("Save with update_fields did not affect any rows.")
    obj._state.db = using


def row_update_sql_with_params(
    *, obj: Model, fields: Iterable[str]
) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
    """The cached UPDATE of :func:`row_update` with ``obj``'s values bound, and what the
    ORM builds from them now: (cached, orm), each (sql, params) (for the tests)."""
    prepared, model_fields = _row_update_prepared(type(obj), frozenset(fields))
    values = {f.attname: getattr(obj, f.attname) for f in model_fields}
    return (
        prepared.sql_with_params(__pk__=obj.pk, **values),
        prepared.orm_sql_with_params(__pk__=obj.pk, **values),
    )


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    params: tuple[Any, ...]  # constants, and _Slot where a value goes
    fields: tuple[Field, ...]
    returning: tuple[Field, ...]
    converters: dict[int, Any]


_ROW_INSERTS: dict[tuple[type[Model], str, bool], _CompiledInsert] = {}


def _insert_fields(model: type[Model], *, pk_set: bool) -> tuple[Field, ...]:
    meta = model._meta
    return tuple(
        f
        for f in meta.local_concrete_fields
        if not f.generated and (pk_set or f is not meta.auto_field)
    )


def _insert_query(model: type[Model], *, fields: tuple[Field, ...], row: Model, raw: bool) -> Any:
    query = InsertQuery(model)
    query.insert_values(list(fields), [row], raw=raw)
    return query


def _row_insert_compiled(model: type[Model], *, using: str, pk_set: bool) -> _CompiledInsert:
    key = (model, using, pk_set)
    found = _ROW_INSERTS.get(key)
    if found is None:
        fields = _insert_fields(model, pk_set=pk_set)
        returning = tuple(model._meta.db_returning_fields)
        # A row whose every value is a placeholder, read as it is (raw: no pre_save, which
        # runs on the real row at each insert)
        template = model.__new__(model)
        template._state = ModelState()
        for field in fields:
            setattr(template, field.attname, Param(field.attname, field=field, save=True))
        compiler = _insert_query(model, fields=fields, row=template, raw=True).get_compiler(
            using=using
        )
        compiler.returning_fields = list(returning)
        statements = compiler.as_sql()
        if len(statements) != 1:
            raise ValueError(f"{model._meta.label}: an insert of one row is one statement")
        sql, params = statements[0]
        cols = [field.get_col(model._meta.db_table) for field in returning]
        found = _ROW_INSERTS[key] = _CompiledInsert(
            sql=sql,
            params=tuple(params),
            fields=fields,
            returning=returning,
            converters=compiler.get_converters(cols) if returning else {},
        )
    return found


def row_insert(*, obj: Model) -> None:
    """``obj.save(force_insert=True)``: the same INSERT (its ``RETURNING`` columns set on
    ``obj``), built once per process for this model."""
    model = type(obj)
    using = obj._state.db or router.db_for_write(model, instance=obj)
    connection = connections[using]
    if not (
        _plain_save(model, kind="insert") and connection.features.can_return_columns_from_insert
    ):
        obj.save(force_insert=True)
        return
    # what save() checks first: no unsaved related object, foreign keys taken from them
    obj._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    meta = model._meta
    pk_val = obj._get_pk_val(meta)
    if pk_val is None:
        pk_val = meta.pk.get_pk_value_on_save(obj)
        setattr(obj, meta.pk.attname, pk_val)
    compiled = _row_insert_compiled(model, using=using, pk_set=pk_val is not None)
    values = {f.attname: f.pre_save(obj, True) for f in compiled.fields}
    if any(hasattr(value, "resolve_expression") for value in values.values()):
        obj.save(force_insert=True)  # a database default or another expression
        return
    params = [
        _slot_value(p, values[p.name], connection) if isinstance(p, _Slot) else p
        for p in compiled.params
    ]
    with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        if compiled.returning:
            rows = [cursor.fetchone()]
    if compiled.returning:
        if compiled.converters:
            rows = _converted(rows, converters=compiled.converters, connection=connection)
        for value, field in zip(rows[0], compiled.returning, strict=True):
            setattr(obj, field.attname, value)
    obj._state.adding = False
    obj._state.db = using


def row_insert_sql_with_params(
    *, obj: Model
) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
    """The cached INSERT of :func:`row_insert` with ``obj``'s values bound, and the one the
    ORM builds for ``obj`` now (for the tests; ``pre_save`` is not applied to either)."""
    model = type(obj)
    using = obj._state.db or router.db_for_write(model, instance=obj)
    connection = connections[using]
    pk_set = obj.pk is not None
    compiled = _row_insert_compiled(model, using=using, pk_set=pk_set)
    cached = [
        _slot_value(p, getattr(obj, p.name), connection) if isinstance(p, _Slot) else p
        for p in compiled.params
    ]
    compiler = _insert_query(model, fields=compiled.fields, row=obj, raw=True).get_compiler(
        using=using
    )
    compiler.returning_fields = list(compiled.returning)
    orm_sql, orm_params = compiler.as_sql()[0]
    return (compiled.sql, cached), (orm_sql, list(orm_params))
