"""Does a child's age at an event satisfy a rule's age band?

Ages are counted the way UK practice counts them: on the Europe/London date of the event, in
calendar years, months and days from the birth date ("under one year" means before the first
birthday). A partial birth date is decided on the side of the child: the band matches if any
possible birth date satisfies it.
"""

from __future__ import annotations

from datetime import date, timedelta

from app.fhir.dates import age_in_years, anniversary, local_date
from app.rules.model import EventView
from app.rules.schema import AgeBand, AgeSpan


def age_matches(band: AgeBand, event: EventView) -> bool:
    """True if the band holds for some possible birth date; never for an unknown age."""
    youngest = event.age_days
    if youngest is None:
        return False
    oldest = youngest + event.age_uncertain_days
    on = local_date(event.at)
    latest_birth = on - timedelta(days=youngest)
    earliest_birth = on - timedelta(days=oldest)
    # Lower bounds are tested on the oldest possible age, upper bounds on the youngest: the
    # possible ages are one interval, and it must overlap the band.
    checks = (
        band.min_days is None or oldest >= band.min_days,
        band.max_days is None or youngest <= band.max_days,
        band.min_years is None or age_in_years(earliest_birth, on) >= band.min_years,
        band.max_years is None or age_in_years(latest_birth, on) <= band.max_years,
        band.under is None or on < _reached(latest_birth, band.under),
        band.at_least is None or on >= _reached(earliest_birth, band.at_least),
    )
    return all(checks)


def _reached(birth: date, span: AgeSpan) -> date:
    return anniversary(birth, span.years, span.months, span.days)
