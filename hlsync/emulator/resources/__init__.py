"""The emulated upstream resources, one module per resource of the HighLevel API v2.

Each module holds its resource's routes (a ``routes()`` function), its response shapes
and its request DTO tables; item resources (tags, custom fields, custom values) also
declare their rules for the generic item store (``itemstore.ItemRules``). The static
registry that mounts them is ``app.RESOURCES``.

This package imports nothing itself: the item store imports the item resources' rules,
and a registry here would pull the contact routes (which import the store) into that
import.
"""
