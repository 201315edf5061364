"""A HighLevel API v2 emulator: the sandbox target and the test double of the live API.

Upstream endpoints (contacts, search, upsert, tags, locations, custom fields, custom
values, and the read routes of their scopes: a contact's tasks, notes and appointments,
a business's contacts, time zones) behave as ``shared/reference/HIGHLEVEL_API.md``
documents them; endpoints under ``/_emulator/`` administer it (Private Integrations,
clock, faults, rate limits, request log, bulk load, contact activity; see
``docs/emulator-admin-api.md``) and are not HighLevel paths. Other projects test against
it through ``hlsync.testing``.
"""
