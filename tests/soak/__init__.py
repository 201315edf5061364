"""``python -m tests.soak``: the pipeline soak (issue 9, item 6), not part of pytest.

Locations with contacts and Private Integrations against ``hlsync emulator serve`` with
faults injected, concurrent ``hlsync apply`` runs killed at random moments (some right
after a token is minted), then applies until ``plan --detailed-exitcode`` exits 0; one
table of what went wrong. No module here is named ``test_*``, so pytest collects none.
``tests/integration/test_soak_smoke.py`` runs a tiny soak in the default suite.
"""
