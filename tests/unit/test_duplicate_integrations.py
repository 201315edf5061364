"""Two Private Integrations with one declared name: which one is kept, and the plan's
repair (a gated delete of the other at its own address)."""

from __future__ import annotations

from hlsync.core.catalog import load_catalog
from hlsync.core.model import Integration, ObservedIntegration
from hlsync.kinds.integration import plan_integrations
from hlsync.kinds.integration_plan import PlanOptions
from hlsync.targets.drivers import duplicate_key, duplicates_of, keep

OLD = ObservedIntegration(
    "i1", "bot", "", ("contacts.readonly",), "2026-01-01T00:00:00Z"
)
NEW = ObservedIntegration(
    "i2", "bot", "", ("contacts.readonly",), "2026-02-01T00:00:00Z"
)
LISTED = {"bot": NEW, duplicate_key("bot", "i1"): OLD, "other": OLD}


def test_keep_puts_the_sink_holder_under_the_name() -> None:
    kept = keep(LISTED, "bot", "i1")
    assert kept == {"bot": OLD, "bot#i2": NEW, "other": OLD}
    assert keep(LISTED, "bot", "unknown") == LISTED
    assert duplicates_of(kept, "bot") == [("bot#i2", NEW)]


def test_the_plan_deletes_the_other_one_behind_force() -> None:
    decl = Integration(name="bot", scopes=("contacts.readonly",))
    changes = plan_integrations(
        "main", "L1", [decl], LISTED, PlanOptions(), load_catalog(), None
    )
    assert [(c.address, c.action, c.gate) for c in changes] == [
        ('main.integration["bot"]', "noop", None),
        ('main.integration["bot#i1"]', "delete", "delete"),
    ]
    repair = changes[1]
    assert (repair.key, repair.object_id) == ("bot#i1", "i1")
    assert repair.desired["duplicate_of"] == "i2"
    assert "hlsync keeps i2" in str(repair.desired["reason"])
