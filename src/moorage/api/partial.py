"""Partial updates: a key absent from a request body means "leave the stored value alone".

A route passes ``given(body, "field", body.field)`` to an update service: the value when the client
sent that key (``null`` included, which clears it), UNSET when it did not. tests/api/
test_api_partial_updates.py checks every PUT/PATCH route against this rule.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from moorage.domain.unset import UNSET, Unset

T = TypeVar("T")


def given(body: BaseModel, name: str, value: T) -> T | Unset:
    """``value`` if the request body had the key ``name``, else UNSET."""
    if name not in type(body).model_fields:
        raise AttributeError(f"{type(body).__name__} has no field {name!r}")
    return value if name in body.model_fields_set else UNSET
