"""The resource kinds hlsync manages, in planning order: one static tuple.

``KINDS`` is what every stage loops over (config builder, reader, planner, writer);
:func:`kind_named` finds the module of a plan change's ``kind``. Both list every member of
``hlsync.core.model.Kind``: ``kind_named`` is an exhaustive ``match``, so mypy names a kind
that was added to the model but not here, and ``tests/unit/test_kinds.py`` checks that
``KINDS``, the model, both JSON Schemas and the protocol agree.

Order matters: a kind's ``plan`` may use the changes of the kinds before it
(``PlanContext.earlier``): contacts depend on the tags and custom fields they use.
"""

from __future__ import annotations

from typing import Any, assert_never

from hlsync.core.model import Kind
from hlsync.kinds.base import ResourceKind
from hlsync.kinds.contact import CONTACT
from hlsync.kinds.custom_field import CUSTOM_FIELD
from hlsync.kinds.custom_value import CUSTOM_VALUE
from hlsync.kinds.integration import INTEGRATION
from hlsync.kinds.tag import TAG

KINDS: tuple[ResourceKind[Any, Any], ...] = (
    INTEGRATION,
    CUSTOM_FIELD,
    TAG,
    CUSTOM_VALUE,
    CONTACT,
)


def kind_named(name: Kind) -> ResourceKind[Any, Any]:
    """The kind of a plan change's ``kind`` field."""
    match name:
        case "integration":
            return INTEGRATION
        case "custom_field":
            return CUSTOM_FIELD
        case "tag":
            return TAG
        case "custom_value":
            return CUSTOM_VALUE
        case "contact":
            return CONTACT
        case _:
            assert_never(name)
