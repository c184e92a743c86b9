"""When a visit or a casebook can be signed: a pure rule over plain values.

A visit can be signed once it took place (it has a visit date) and its data are complete: every form
the protocol expects there once is complete, every form entered there (lab panels and medication
entries included) is complete, and at least one form was entered. Repeating forms have no fixed
count per visit, so their absence does not block (as for the "forms missing" reminder).

A casebook can be signed when every visit that took place can be, no visit is overdue (its window
closed with neither a date nor a missed / not-applicable outcome), and at least one visit took place.
Visits still upcoming or open do not block: an interim casebook signature covers the data so far, and
the data of a later visit are signed with that visit (or a later casebook signature).

``selectors.awaiting_signature`` applies the same rule in SQL for the worklist.
"""

from collections.abc import Iterable

VISIT_NOT_DONE = "visit_not_done"
VISIT_OVERDUE = "visit_overdue"
NOTHING_ENTERED = "nothing_entered"
NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
NO_VISIT = "no_visit"


def visit_gaps(
    *,
    done: bool,
    expected: Iterable[str],
    instances: Iterable[tuple[str, str]],
    single_instance: set[str],
) -> list[tuple[str, str]]:
    """What stands between a visit and its signature, as (form code or "", problem) pairs.

    ``expected``: the form codes the protocol names at the visit; ``instances``: (code, status) of
    every live form entered there; ``single_instance``: the implemented, non-repeating form codes.
    """
    if not done:
        return [("", VISIT_NOT_DONE)]
    instances = list(instances)
    gaps = []
    entered = {code for code, _status in instances}
    for code in expected:
        if code in single_instance and code not in entered:
            gaps.append((code, NOT_STARTED))
    for code, status in instances:
        if status != "complete" and (code, IN_PROGRESS) not in gaps:
            gaps.append((code, IN_PROGRESS))
    if not instances and not gaps:
        gaps.append(("", NOTHING_ENTERED))
    return gaps


def casebook_gaps(
    visits: Iterable[tuple[object, str, list[tuple[str, str]]]],
) -> list[tuple[object, str, str]]:
    """(visit, form code or "", problem) for a casebook, from each visit's (visit, status, visit gaps)."""
    gaps, done = [], False
    for visit, status, visit_problems in visits:
        if status == "overdue":
            gaps.append((visit, "", VISIT_OVERDUE))
        elif status == "done":
            done = True
            gaps += [(visit, code, problem) for code, problem in visit_problems]
    if not done and not gaps:
        gaps.append((None, "", NO_VISIT))
    return gaps
