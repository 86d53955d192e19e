"""One attempt at a unit of work, as the use cases inside it see it: whether its
reconciliation is left to the worker, and the patients whose families it touched. Use cases
receive only the session, so the one object rides on it; `AppState.write` begins it for each
attempt and `reconcile.settle` takes the touched set once, before the commit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

KEY = "wnb.unit_of_work"


@dataclass
class UnitOfWork:
    # True: the families are marked for the worker instead of judged inline (a bulk load, or
    # the second attempt after an inline reconciliation failed).
    defer_reconcile: bool = False
    touched: set[str] = field(default_factory=set)  # patients whose families must be judged


def begin(session: Session, defer_reconcile: bool = False) -> UnitOfWork:
    """A fresh attempt on `session`: nothing touched yet."""
    unit = UnitOfWork(defer_reconcile)
    session.info[KEY] = unit
    return unit


def unit_of(session: Session) -> UnitOfWork:
    """The attempt under way (begun on first use for a session the edge did not begin, such
    as a worker job's)."""
    unit = session.info.get(KEY)
    return unit if isinstance(unit, UnitOfWork) else begin(session)


def touch(session: Session, patient_ids: Iterable[str]) -> None:
    unit_of(session).touched.update(patient_ids)


def take_touched(session: Session) -> set[str]:
    """The touched patients, once: a second call in the same attempt finds none."""
    unit = unit_of(session)
    touched, unit.touched = unit.touched, set()
    return touched


def defer_reconcile(session: Session) -> None:
    """Leave this attempt's families marked for the worker (a backfill touching thousands)."""
    unit_of(session).defer_reconcile = True
