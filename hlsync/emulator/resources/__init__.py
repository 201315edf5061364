"""The emulated upstream resources, one module per resource of the HighLevel API v2.

Each module holds its resource's routes (a ``routes()`` function), its response shapes
and its request DTO tables (``validation.Prop``); item resources (tags, custom fields,
custom values) also declare their rules for the generic item store
(``itemstore.ItemRules``) and serve the five generic item routes (``item_routes``). The
static registry that mounts them is ``app.RESOURCES``.

To add an emulated resource:

1. write ``resources/<name>.py``: handlers (``auth.require`` first, then
   ``validation.check_body``, then the store under ``state.lock``), shapes, DTOs and
   ``routes()`` (``handling.routes_for``; or an ``ItemResource`` and
   ``item_routes`` for a location item kind, whose records then live in
   ``Store.items`` with no change there);
2. add its ``routes`` to ``app.RESOURCES`` (tests/unit/test_emulator_resources.py fails
   until you do);
3. add a success and an error case for each new operation to tests/contract/
   (``test_every_served_operation_is_covered`` fails until you do), and its DTOs to
   tests/contract/test_request_bodies.py.

This package imports nothing itself: the item store imports the item resources' rules,
and a registry here would pull the contact routes (which import the store) into that
import.
"""
