"""How a change is written: ``ChangeWriter.execute(change) -> Outcome``.

``applier.apply_plan`` decides when a change runs; this module hands it to its kind's
``write`` (``hlsync/kinds/``), which makes its calls exactly as the plan describes them
(the ``hlsync.core.plan`` docstring says what each ``desired`` holds), idempotent
wherever upstream allows it. The writer is the kinds' ``WriteContext``: the location's
API, the ids of custom fields (those of the plan's existing fields, and those created
earlier in this run: a contact depends on the field it uses), and the integration writer
(``hlsync.kinds.integration_writer``: drivers, token custody, the seeding switch).

A change that cannot be made is a ``failed`` outcome whose message is the upstream error
(method, path, status, upstream message) or says what is missing; never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence

from hlsync.core.plan import Change
from hlsync.core.result import Outcome
from hlsync.errors import HlsyncError
from hlsync.kinds.change_fields import ChangeFailed as _Failed
from hlsync.kinds.change_fields import error_text as _error_text
from hlsync.kinds.integration_writer import (
    Custody,
    DeliverToken,
    IntegrationWriter,
    PlainDelivery,
)
from hlsync.kinds.registry import kind_named
from hlsync.targets.access import TargetAccess
from hlsync.upstream.api import LocationApiLike
from hlsync.upstream.client import attempt_counter


def known_field_ids(changes: Sequence[Change]) -> dict[tuple[str, str], str]:
    """Ids of custom fields that exist and stay: noop and update changes carry them."""
    return {
        (c.location, c.key): c.object_id
        for c in changes
        if c.kind == "custom_field"
        and c.action in ("noop", "update")
        and c.location is not None
        and c.object_id is not None
    }


class ChangeWriter:
    """Carries out changes (concurrently, one task each) for one apply.

    ``field_ids`` maps (location, field key) to the upstream field id; fields created in
    this run are added as they are created, so later contact changes can use them.
    """

    def __init__(
        self,
        access: TargetAccess,
        deliver_token: DeliverToken | None,
        field_ids: dict[tuple[str, str], str],
        custody: Custody | None = None,
    ) -> None:
        self._access = access
        if custody is None and deliver_token is not None:
            custody = PlainDelivery(deliver_token)
        self.integrations = IntegrationWriter(access, custody)
        self.field_ids = field_ids

    async def execute(self, change: Change) -> Outcome:
        """The outcome of ``change``; its API calls are counted in this task only."""
        counter = [0]
        attempt_counter.set(counter)  # each task runs in its own context copy
        try:
            note = await kind_named(change.kind).write(change, self)
        except _Failed as exc:
            return Outcome(
                change.address, "failed", exc.message, counter[0], change.action
            )
        except HlsyncError as exc:
            text = _error_text(exc)
            return Outcome(change.address, "failed", text, counter[0], change.action)
        return Outcome(change.address, "ok", note, counter[0], change.action)

    def location_api(self, change: Change) -> LocationApiLike:
        """The API of the change's location; a change without one fails."""
        api = (
            None
            if change.location is None
            else self._access.locations.get(change.location)
        )
        if api is None:
            raise _Failed(f"no API access for location {change.location!r} in this run")
        return api
