"""Fixtures for the engine-core tests: a representative desired/observed pair (create,
update, delete, replace, noop, scope changes) built in Python — no YAML, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hlsync.core.model import (
    AgencySpec,
    Contact,
    CustomField,
    DesiredState,
    Integration,
    LocationSpec,
    ObservedContact,
    ObservedCustomField,
    ObservedCustomValue,
    ObservedIntegration,
    ObservedLocation,
    ObservedState,
    ObservedTag,
    Tag,
    Target,
)
from hlsync.errors import Location

DIGEST = "3f" * 32


def src(line: int, column: int = 5) -> Location:
    return Location("hlsync.yaml", line, column)


def desired_state(
    *locations: LocationSpec,
    agency: tuple[Integration, ...] = (),
    digest: str = DIGEST,
) -> DesiredState:
    return DesiredState(
        target=Target(),
        agency=AgencySpec(integrations=agency),
        locations=locations,
        config_digest=digest,
        root="hlsync.yaml",
    )


def observed_location(
    name: str,
    id: str,
    *,
    integrations: tuple[ObservedIntegration, ...] = (),
    custom_fields: tuple[ObservedCustomField, ...] = (),
    tags: tuple[str, ...] = (),
    contacts: tuple[ObservedContact, ...] = (),
    custom_values: tuple[ObservedCustomValue, ...] = (),
) -> ObservedLocation:
    return ObservedLocation(
        name=name,
        id=id,
        integrations={i.name: i for i in integrations},
        custom_fields={f.key: f for f in custom_fields},
        tags={t: ObservedTag(f"tag-{t}", t) for t in tags},
        contacts={c.key: c for c in contacts},
        custom_values={v.name: v for v in custom_values},
    )


def observed_state(
    *locations: ObservedLocation,
    agency: tuple[ObservedIntegration, ...] = (),
) -> ObservedState:
    return ObservedState(
        agency_integrations={i.name: i for i in agency},
        locations={loc.name: loc for loc in locations},
    )


def contact(
    email: str,
    fields: Mapping[str, Any] | None = None,
    *,
    tags: tuple[str, ...] = (),
    custom: Mapping[str, Any] | None = None,
    **kw: Any,
) -> Contact:
    return Contact(
        key="email:" + email.casefold(),
        fields={"email": email, **(fields or {})},
        tags=tags,
        custom_fields=dict(custom or {}),
        **kw,
    )


def seen(
    id: str,
    email: str,
    fields: Mapping[str, Any] | None = None,
    *,
    tags: tuple[str, ...] = (),
    custom: Mapping[str, Any] | None = None,
) -> ObservedContact:
    return ObservedContact(
        id=id,
        key="email:" + email.casefold(),
        fields={"email": email, **(fields or {})},
        tags=tags,
        custom_fields=dict(custom or {}),
    )


def representative() -> tuple[DesiredState, ObservedState]:
    """One of everything a reviewer meets: the golden files render this plan."""
    main = LocationSpec(
        name="main",
        id="LOC-main-0001",
        integrations=(
            Integration(
                "seed-bot",
                "Seeds demo contacts",
                ("contacts.readonly", "contacts.write", "locations/tags.readonly"),
                source=src(8),
            ),
        ),
        custom_fields=(
            CustomField(
                "pincode", "Pincode", "TEXT", placeholder="6 digits", source=src(14)
            ),
            CustomField(
                "interests",
                "Interests",
                "MULTIPLE_OPTIONS",
                ("golf", "sailing", "chess"),
                source=src(17),
            ),
            CustomField("score", "Score", "NUMERICAL", source=src(21)),
        ),
        tags=(
            Tag("vip", source=src(24)),
            Tag("legacy", ensure="absent", source=src(25)),
        ),
        contacts=(
            contact(
                "ann@example.com",
                {"firstName": "Ann", "lastName": "Lee", "phone": "+14155550101"},
                tags=("vip", "newsletter"),
                custom={"pincode": "560001", "interests": ["golf", "chess"]},
                source=src(30),
            ),
            contact(
                "Bob@Example.com",
                {"firstName": "Bob", "dndSettings": {"Email": {"status": "active"}}},
                tags=("vip",),
                custom={"score": 7},
                source=src(37),
            ),
            contact(
                "cy@example.org", {"firstName": "Cy"}, tags=("vip",), source=src(42)
            ),
            contact("gone@example.com", ensure="absent", source=src(45)),
        ),
    )
    branch = LocationSpec(
        name="branch",
        id="LOC-branch-0002",
        custom_fields=(CustomField("pincode", "Pincode", "TEXT", source=src(52)),),
        contacts=(contact("dee@example.com", {"firstName": "Dee"}, source=src(55)),),
    )
    desired = desired_state(
        main,
        branch,
        agency=(
            Integration(
                "ci-deployer",
                "Reads sub-accounts for CI",
                ("locations.readonly", "oauth.readonly"),
                source=src(3),
            ),
        ),
    )
    observed = observed_state(
        observed_location(
            "main",
            "LOC-main-0001",
            integrations=(
                ObservedIntegration(
                    "pi-seed",
                    "seed-bot",
                    "Seeds demo contacts",
                    ("contacts.readonly", "opportunities.readonly"),
                ),
            ),
            custom_fields=(
                ObservedCustomField(
                    "cf-pin", "pincode", "Pin code", "TEXT", (), "6 digits"
                ),
                ObservedCustomField(
                    "cf-int",
                    "interests",
                    "Interests",
                    "MULTIPLE_OPTIONS",
                    ("golf", "sailing", "chess"),
                ),
                ObservedCustomField("cf-score", "score", "Score", "TEXT"),
            ),
            tags=("VIP", "legacy", "staff"),
            contacts=(
                seen(
                    "c-bob",
                    "bob@example.com",
                    {
                        "firstName": "Robert",
                        "lastName": "Undeclared",
                        "dndSettings": {
                            "Email": {"status": "inactive", "message": ""},
                            "SMS": {"status": "active"},
                        },
                    },
                    tags=("staff",),
                    custom={"score": "7"},
                ),
                seen(
                    "c-cy", "CY@example.org", {"firstName": "Cy"}, tags=("vip", "staff")
                ),
                seen("c-gone", "gone@example.com", {"firstName": "Gone"}),
            ),
        ),
        observed_location(
            "branch",
            "LOC-branch-0002",
            custom_fields=(
                ObservedCustomField("cf-bpin", "pincode", "Pincode", "TEXT"),
            ),
            contacts=(seen("c-dee", "dee@example.com", {"firstName": "Dee"}),),
        ),
        agency=(
            ObservedIntegration(
                "pi-ci",
                "ci-deployer",
                "Reads sub-accounts for CI",
                ("locations.readonly",),
            ),
        ),
    )
    return desired, observed
