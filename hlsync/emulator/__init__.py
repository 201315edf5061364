"""A HighLevel API v2 emulator: the sandbox target and the test double of the live API.

Upstream endpoints (contacts, search, upsert, tags, locations, custom fields, custom
values) behave as ``shared/reference/HIGHLEVEL_API.md`` documents them; endpoints under
``/_emulator/`` administer it (Private Integrations, clock, faults, request log) and are
not HighLevel paths.
"""
