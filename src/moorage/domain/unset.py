"""UNSET: "the caller did not mention this field", distinct from None ("clear it").

Update services take ``value: T | None | Unset = UNSET``; an API route passes only the keys present
in the request body (pydantic's ``model_fields_set``), so an absent key leaves the stored value alone.
"""

from __future__ import annotations

import enum
from typing import Final


class Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET
