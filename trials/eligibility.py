"""Eligibility rules that the apps built on this one add to screening.

A rule is ``blockers(participant, *, on=None) -> [problem]`` (why eligibility cannot be recorded as met,
or the participant enrolled on ``on``; [] when nothing stands in the way) and optionally
``proposal(participant) -> {field: value}`` (initial values of the "Record eligibility" action). The
eligibility checklist (``crfs.eligibility``) registers its rule from ``CrfsConfig.ready()``; without any
rule the outcome recorded by the site decides alone.
"""

from collections.abc import Callable
from datetime import date

_blockers: list[Callable] = []
_proposals: list[Callable] = []


def register_rule(*, blockers: Callable, proposal: Callable | None = None) -> None:
    if blockers not in _blockers:
        _blockers.append(blockers)
    if proposal is not None and proposal not in _proposals:
        _proposals.append(proposal)


def enrollment_blockers(participant, *, on: date | None = None) -> list[str]:
    """Every registered rule's problems, in registration order."""
    return [problem for blockers in _blockers for problem in blockers(participant, on=on)]


def proposed_decision(participant) -> dict:
    """The registered rules' initial values for the eligibility action (the first rule wins a field)."""
    initial: dict = {}
    for proposal in _proposals:
        for key, value in proposal(participant).items():
            initial.setdefault(key, value)
    return initial
