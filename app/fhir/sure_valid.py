"""A cheap "certainly valid" verdict for R4B, so the full model is built only when in doubt.

`fhir.resources` validates a resource by building its whole model: every nested element goes
through a Python wrapper that builds it again as its own model (`FhirBase.fhir_model_validator`)
and runs the model-level checks twice, about 0.2 ms for a small Appointment. Nothing is kept
from that model: the service stores the JSON it was sent. So a resource is first walked here,
against the same models' field tables, and every primitive value is checked by R4B's own
validator for that field's type (the same pydantic-core schema the model runs). The walk
answers only "sure": any key, shape or value it does not recognise (null, an empty object or
list, a `_x` extension sibling, `fhir_comments`, a contained resource, a class with validators
of its own) sends the resource to the full R4B model, which gives the verdict and its issues.
So this path can only accept what R4B accepts; `tests/fhir/test_sure_valid.py` checks both
directions over hand-written and generated resources.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase, FhirElementOrResourceBase
from pydantic import TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import SchemaValidator

# The model-level validators every generated class inherits; a class with any other is
# left to the full model.
INHERITED_VALIDATORS = frozenset(
    {"reject_null_complex_elements", "validate_after_model_construction"}
)
# The configuration the primitives' validators below are built for (none of it changes how
# a primitive is checked); a class configured otherwise is left to the full model.
EXPECTED_CONFIG = {"extra": "forbid", "validate_assignment": True, "populate_by_name": True}
CACHE_LIMIT = 4096  # verdicts kept per primitive type; cleared when full


@dataclass
class Primitive:
    validator: SchemaValidator
    sure: dict[str, bool] = field(default_factory=dict)  # strings already accepted

    def check(self, value: Any) -> bool:
        if type(value) is str and value in self.sure:
            return True
        try:
            self.validator.validate_python(value)
        except Exception:  # any refusal: the full model words it
            return False
        if type(value) is str:
            if len(self.sure) >= CACHE_LIMIT:
                self.sure.clear()
            self.sure[value] = True
        return True


@dataclass
class Element:
    """One JSON key of a class: a primitive's validator or a nested class, one or many."""

    many: bool
    primitive: Primitive | None = None
    model: type[FHIRAbstractModel] | None = None


@dataclass
class Plan:
    elements: dict[str, Element]
    required: tuple[str, ...]
    choices: tuple[tuple[tuple[str, ...], bool], ...]  # ([x] keys, one required)


def certainly_valid(model: type[FHIRAbstractModel], data: dict[str, Any]) -> bool:
    """True only when R4B's `model.model_validate(data)` would accept `data` (a resource with
    its resourceType); False means "not sure", never "invalid"."""
    if data.get("resourceType") != getattr(model, "__resource_type__", None):
        return False
    if "resourceType" in model.model_fields:
        return False
    body = dict(data)
    del body["resourceType"]
    return _sure(model, body)


def _sure(model: type[FHIRAbstractModel], data: dict[str, Any]) -> bool:
    plan = _plan(model)
    if plan is None or not data:
        return False
    elements = plan.elements
    for key, value in data.items():
        element = elements.get(key)
        if element is None or value is None:
            return False
        if element.many:
            if type(value) is not list or not value:
                return False
            for item in value:
                if not _sure_one(element, item):
                    return False
        elif not _sure_one(element, value):
            return False
    for key in plan.required:
        if key not in data:
            return False
    for keys, required in plan.choices:
        present = sum(1 for k in keys if k in data)
        if present > 1 or (required and present == 0):
            return False
    return True


def _sure_one(element: Element, value: Any) -> bool:
    if value is None:
        return False
    if element.primitive is not None:
        return element.primitive.check(value)
    assert element.model is not None
    return type(value) is dict and _sure(element.model, value)


@cache
def _plan(model: type[FHIRAbstractModel]) -> Plan | None:
    """The class's JSON keys and checks, or None when it has anything the walk cannot
    mirror exactly (it is then always left to the full model)."""
    decorators = model.__pydantic_decorators__
    if (
        set(decorators.model_validators) != INHERITED_VALIDATORS
        or decorators.field_validators
        or decorators.validators
        or decorators.root_validators
        or model.__pydantic_post_init__ is not None
        or model.__init__ is not FHIRAbstractModel.__init__
        or model._validate_one_of_many is not FHIRAbstractModel._validate_one_of_many
        or model._validate_required_primitive_elements
        is not FHIRAbstractModel._validate_required_primitive_elements
        or dict(model.model_config) != EXPECTED_CONFIG
    ):
        return None
    elements: dict[str, Element] = {}
    key_of: dict[str, str] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        key_of[name] = key
        if name.endswith("__ext") or name == "fhir_comments":
            continue  # never sure about these: the full model decides
        element = _element(info)
        if element is not None:
            elements[key] = element
    blank = model.model_construct()
    required = [key for key, _ext in blank.get_required_fields()]
    required += [key_of[n] for n, info in model.model_fields.items() if info.is_required()]
    choices = tuple(
        (
            tuple(key_of[n] for n in names),
            model.model_fields[names[0]].json_schema_extra["one_of_many_required"] is True,  # type: ignore[index]
        )
        for names in blank.get_one_of_many_fields().values()
    )
    if any(key not in elements for key in required):
        return None
    return Plan(elements, tuple(required), choices)


def _element(info: FieldInfo) -> Element | None:
    if info.metadata or info.discriminator is not None:
        return None  # constraints on the field itself: not mirrored
    inner, many = _unwrap(info.annotation)
    if inner is None:
        return None
    if isinstance(inner, type) and issubclass(inner, FhirBase):
        if issubclass(inner, FhirElementOrResourceBase):
            return None  # any resource (contained, Bundle.entry.resource): not mirrored
        return Element(many, model=inner.get_model_klass())
    return Element(many, primitive=_primitive(inner))


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """`X | None`, `List[X] | None` or `List[X | None] | None` as (X, many); (None, _) for
    any other shape."""
    inner = _without_none(annotation)
    many = typing.get_origin(inner) is list
    if many:
        (item,) = typing.get_args(inner)
        inner = _without_none(item)
    if inner is None or typing.get_origin(inner) in (list, typing.Union, types.UnionType):
        return None, many
    return inner, many


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else None
    return annotation


_PRIMITIVES: dict[int, tuple[Any, Primitive]] = {}


def _primitive(annotation: Any) -> Primitive:
    # Keyed by identity: the types are fhir_core's module-level objects, and not all of
    # them hash (the decimal's metadata is a mutable dataclass).
    known = _PRIMITIVES.get(id(annotation))
    if known is None:
        adapter: TypeAdapter[Any] = TypeAdapter(annotation)
        known = _PRIMITIVES[id(annotation)] = (annotation, Primitive(adapter.validator))  # type: ignore[arg-type]
    return known[1]


def prepare(model: type[FHIRAbstractModel]) -> int:
    """Build the walk's tables for `model` and every class it can hold (at start-up, so that
    they are built once, before the heap is frozen: `runtime.settle_heap`). How many."""
    seen: set[type[FHIRAbstractModel]] = set()
    todo = [model]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        plan = _plan(current)
        if plan is not None:
            todo += [e.model for e in plan.elements.values() if e.model is not None]
    return len(seen)
