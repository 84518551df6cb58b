"""One schema per read model: each read model's schema names exactly its dataclass's fields,
and a field that is itself a read model (alone, optional or in a list) is presented by that
read model's schema. A field added to a read model and forgotten in its schema fails here,
and so does a schema field that no dataclass has."""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from typing import Any

import marshmallow as ma
import pytest
from marshmallow import fields

from licensesvc import readmodels
from licensesvc.presentation import PRESENTS, SCHEMA_OF

READ_MODELS: list[type] = sorted(
    (
        cls
        for _, cls in inspect.getmembers(readmodels, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == readmodels.__name__
    ),
    key=lambda cls: cls.__name__,
)


def attribute_names(schema: type[ma.Schema]) -> set[str]:
    return {field.attribute or name for name, field in schema().fields.items()}


def read_model_in(hint: Any) -> type | None:
    """The read model a field's type holds (X, X | None, list[X], tuple[X, ...]), or None."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        found: type = hint
        return found
    for arg in typing.get_args(hint):
        if arg is not type(None) and (held := read_model_in(arg)) is not None:
            return held
    return None


def nested_schema(field: fields.Field[Any]) -> type[ma.Schema] | None:
    inner = field.inner if isinstance(field, fields.List) else field
    if not isinstance(inner, fields.Nested):
        return None
    return type(inner.schema)


def test_every_read_model_has_a_schema() -> None:
    assert [cls.__name__ for cls in READ_MODELS if cls not in SCHEMA_OF] == []


@pytest.mark.parametrize("read_model", list(SCHEMA_OF), ids=lambda cls: cls.__name__)
def test_the_schema_names_the_dataclass_fields(read_model: type) -> None:
    wanted = {f.name for f in dataclasses.fields(read_model)}
    assert attribute_names(SCHEMA_OF[read_model]) == wanted


@pytest.mark.parametrize("schema", list(PRESENTS), ids=lambda cls: cls.__name__)
def test_a_partial_schema_names_fields_of_its_read_model(schema: type[ma.Schema]) -> None:
    # the customer's case, the API's key: parts of a read model, nothing it lacks
    wanted = {f.name for f in dataclasses.fields(PRESENTS[schema])}
    assert attribute_names(schema) <= wanted


@pytest.mark.parametrize("schema", list(PRESENTS), ids=lambda cls: cls.__name__)
def test_a_nested_read_model_is_presented_by_its_schema(schema: type[ma.Schema]) -> None:
    read_model = PRESENTS[schema]
    hints = typing.get_type_hints(read_model)
    for name, field in schema().fields.items():
        attribute = field.attribute or name
        inner = read_model_in(hints[attribute])
        nested = nested_schema(field)
        if inner is None:
            continue  # plain values (and lists of dicts, which have their own schema)
        assert nested is not None, f"{read_model.__name__}.{attribute} is not Nested"
        assert PRESENTS.get(nested) is inner, f"{read_model.__name__}.{attribute}: {nested}"


def test_a_planted_mismatch_is_found() -> None:
    @dataclasses.dataclass(frozen=True)
    class Planted:
        a: int
        b: str

    class PlantedSchema(ma.Schema):
        a = fields.Integer()

    assert attribute_names(PlantedSchema) != {f.name for f in dataclasses.fields(Planted)}
    assert read_model_in(list[Planted] | None) is Planted
    assert read_model_in(types.NoneType) is None
