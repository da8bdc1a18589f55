"""The API's response models mirror fraud.review's views: a field added to one side only fails
here, not in production (where `case_out` would raise or silently drop it)."""

from __future__ import annotations

import typing
from dataclasses import fields

from fraud.review.views import CaseEventView, CaseView
from moesuite.web.schemas import CaseEventOut, CaseOut

# The moment priority and SLA state were computed: the API answers at request time, so it is
# left out of the response on purpose (moesuite.web.routers.review.case_out drops it).
_VIEW_ONLY = {CaseView: {"as_of"}, CaseEventView: set()}


def _normalised(annotation: object) -> object:
    # JSON has no tuples: the views' tuple[str, ...] is the API's list[str].
    if typing.get_origin(annotation) is tuple:
        return list[typing.get_args(annotation)[0]]
    return annotation


def _check(view: type, model: type) -> None:
    view_types = typing.get_type_hints(view)
    view_fields = {f.name for f in fields(view)} - _VIEW_ONLY[view]
    model_fields = set(model.model_fields)
    assert model_fields - view_fields == set(), f"{model.__name__} has fields {view.__name__} lacks"
    assert view_fields - model_fields == set(), f"{view.__name__} has fields {model.__name__} lacks"
    for name in view_fields:
        assert _normalised(view_types[name]) == model.model_fields[name].annotation, name


def test_case_out_has_exactly_the_fields_of_case_view():
    _check(CaseView, CaseOut)


def test_case_event_out_has_exactly_the_fields_of_case_event_view():
    _check(CaseEventView, CaseEventOut)
