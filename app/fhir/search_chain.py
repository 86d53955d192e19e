"""Chained search on a reference: `patient.identifier=`, `subject:Patient.identifier=`.

Only the chain people use is served: a Patient found by one of its identifiers. It resolves
through the same identity keys as `patient:identifier`, so the two agree; any other chain is
refused by name rather than ignored, since ignoring it would widen the search."""

from __future__ import annotations

from app.fhir.errors import FhirError
from app.fhir.index import SEARCH_PARAMS, Param

# (target type, parameter of the target) pairs a chain may end in.
CHAINS = {("Patient", "identifier")}


def is_chained(raw_name: str) -> bool:
    return "." in raw_name


def parse_chain(type_name: str, raw_name: str) -> tuple[str, str]:
    """The reference parameter of `type_name` a chained name starts from, and the type it
    is chained through; 400 naming `raw_name` when the chain is not served."""
    head, _, chained = raw_name.partition(".")
    name, _, type_modifier = head.partition(":")
    param = SEARCH_PARAMS.get(type_name, {}).get(name)
    if param is None or param.kind != "reference":
        raise _unknown(type_name, raw_name, f"{name!r} is not a reference parameter")
    target = type_modifier or param.target
    if target is None:
        raise _unknown(
            type_name, raw_name, f"{name} may point at several types: name one, as {name}:Patient"
        )
    if not _may_chain(param, target) or (target, chained) not in CHAINS:
        raise _unknown(type_name, raw_name, f"the chain {target}.{chained} is not served")
    return name, target


def chain_names(type_name: str) -> list[str]:
    """Every chained parameter name `type_name` answers."""
    return [c for name in SEARCH_PARAMS.get(type_name, {}) for c in chains_of(type_name, name)]


def chains_of(type_name: str, name: str) -> list[str]:
    """The chained names that start from the reference parameter `name` of `type_name`."""
    param = SEARCH_PARAMS.get(type_name, {}).get(name)
    if param is None or param.kind != "reference":
        return []
    return [
        f"{name}{'' if param.target else ':' + target}.{chained}"
        for target, chained in sorted(CHAINS)
        if _may_chain(param, target)
    ]


def _may_chain(param: Param, target: str) -> bool:
    return param.target in (None, target)


def _unknown(type_name: str, raw_name: str, why: str) -> FhirError:
    served = ", ".join(chain_names(type_name)) or "none"
    return FhirError.one(
        400,
        "not-supported",
        f"Chained search parameter {raw_name!r} is not supported for {type_name} ({why}); "
        f"chains served: {served}.",
        raw_name,
    )
