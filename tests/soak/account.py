"""The declared account a soak applies: its config files and what they promise.

Each location ``soakN`` declares two Private Integrations with file sinks (``seed-bot``,
whose token writes everything else through ``auth: {integration: seed-bot}``, and a
read-only ``reports``), one custom field, three tags, one custom value and ``contacts``
contacts from a CSV, each tagged and with the custom field set.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

INTEGRATIONS = ("seed-bot", "reports")
TAGS = ("soak-a", "soak-b", "soak-c")
SEED_SCOPES = (
    "contacts.readonly",
    "contacts.write",
    "locations/customFields.readonly",
    "locations/customFields.write",
    "locations/tags.readonly",
    "locations/tags.write",
    "locations/customValues.readonly",
    "locations/customValues.write",
)


@dataclass(frozen=True, slots=True)
class SoakLocation:
    """One declared location: config name, HighLevel id, its token's variable."""

    name: str
    id: str
    variable: str

    def email(self, n: int) -> str:
        return f"{self.name}.member{n:05d}@example.com"

    def sink(self, integration: str) -> str:
        """The sink file of ``integration``, relative to the config folder."""
        return f"tokens/{self.name}.{integration}.token"


def soak_locations(count: int) -> tuple[SoakLocation, ...]:
    return tuple(
        SoakLocation(f"soak{n}", f"soakLocation{n:09d}", f"SOAK_TOKEN_{n}")
        for n in range(1, count + 1)
    )


def write_config(
    folder: Path, url: str, locations: tuple[SoakLocation, ...], contacts: int
) -> None:
    """``folder/hlsync.yaml`` aimed at ``url`` and one contacts CSV per location."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["version: 1", f'target: {{url: "{url}"}}', "locations:"]
    for loc in locations:
        lines += [
            f"  {loc.name}:",
            f"    id: {loc.id}",
            f"    token: {{env: {loc.variable}}}",
            "    auth: {integration: seed-bot}",
            "    integrations:",
            "      seed-bot:",
            f"        scopes: [{', '.join(SEED_SCOPES)}]",
            f"        token: {{sink: {{file: {loc.sink('seed-bot')}}}}}",
            "      reports:",
            "        scopes: [contacts.readonly]",
            f"        token: {{sink: {{file: {loc.sink('reports')}}}}}",
            "    custom_fields:",
            "      tier: {name: Tier, type: TEXT}",
            f"    tags: [{', '.join(TAGS)}]",
            "    custom_values:",
            f"      Soak Location: {loc.name}",
            f"    contacts_from: {loc.name}.csv",
        ]
        _write_contacts(folder / f"{loc.name}.csv", loc, contacts)
    (folder / "hlsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_contacts(path: Path, loc: SoakLocation, count: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["firstName", "lastName", "email", "tags", "customFields.tier"])
        for n in range(count):
            tags = ";".join(TAGS[: 1 + n % len(TAGS)])
            out.writerow(
                [f"Member{n}", loc.name.title(), loc.email(n), tags, f"t{n % 4}"]
            )
