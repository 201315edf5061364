"""One location's seed contacts: defaults, identity, duplicates, field values.

:class:`Seeds` turns YAML-shaped contact data (written inline, or read from CSV/JSONL by
``contacts_io``) into ``model.Contact`` objects, reporting errors through ``report``
and warnings through ``warn``:

* ``defaults`` fill each field (and ``tags``, and each custom field) a contact leaves out;
* emails are checked, phones normalised to E.164 (``default_region`` for numbers without
  ``+``; a number upstream stores but ``phonenumbers`` calls invalid goes to ``warn``),
  ``dateOfBirth`` must be a real date;
* the key is ``model.contact_key``; a second contact with the same key in the location is
  an error naming the first one's place (CSV rows by row line);
* custom-field values must name a declared, present field and fit its type; tags a
  contact uses must not be declared ``ensure: absent``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Set
from types import MappingProxyType
from typing import Any, Protocol

from hlsync.config import checks
from hlsync.config.contacts_io import FIELD_NAMES
from hlsync.config.yamlload import JsonPath
from hlsync.core.model import Contact, CustomField, Tag, contact_key
from hlsync.errors import Location

Where = Callable[[JsonPath], Location]
_NO_VALUES: Mapping[str, Any] = MappingProxyType({})  # shared by contacts without any


class Report(Protocol):
    def __call__(
        self, message: str, where: Location, hint: str | None = None
    ) -> None: ...


class Seeds:
    """Builds one location's contacts: defaults, identity, duplicates, values."""

    def __init__(
        self,
        report: Report,
        warn: Report,
        broken_fields: Set[str],
        fields: Mapping[str, CustomField],
        tags: Mapping[str, Tag],
        region: str | None,
    ) -> None:
        self.report = report
        self.warn = warn
        self.broken_fields = broken_fields
        self.fields = fields
        self.tags = tags
        self.region = region
        self.defaults: dict[str, Any] = {}
        self.default_values: dict[str, Any] = {}
        self.check_phones = True  # False under an unknown region, reported already

    def set_defaults(self, spec: dict[str, Any] | None, where: Where) -> None:
        if not spec:
            return
        self.defaults = {k: v for k, v in spec.items() if k != "custom_fields"}
        values = spec.get("custom_fields", {})
        self.default_values = self._values(
            values, lambda p: where(("defaults", "custom_fields", *p)), False
        )

    def build(
        self, raws: Iterator[tuple[dict[str, Any], Where, bool]]
    ) -> tuple[Contact, ...]:
        seen: dict[str, Location] = {}
        built: list[Contact] = []
        for raw, where, textual in raws:
            contact = self.contact(raw, where, textual)
            if contact is None:
                continue
            if contact.key in seen:
                label = contact.key.split(":", 1)[1]
                self.report(
                    f'duplicate contact "{label}" (first at {seen[contact.key]})',
                    where(()),
                    "each seed contact needs its own email (or phone, without an email)",
                )
                continue
            seen[contact.key] = where(())
            built.append(contact)
        return tuple(built)

    def contact(
        self, raw: dict[str, Any], where: Where, textual: bool
    ) -> Contact | None:
        ok = True
        fields = {k: raw[k] for k in FIELD_NAMES if k in raw}
        for name, value in self.defaults.items():
            if name in FIELD_NAMES:
                fields.setdefault(name, value)
        email = fields.get("email")
        if isinstance(email, str):
            email = email.strip()
            fields["email"] = email
            message = checks.email_problem(email)
            if message:
                self.report(message, where(("email",)))
                ok = False
        phone = fields.get("phone")
        if isinstance(phone, str):
            found = checks.normalise_phone(phone, self.region)
            if found.e164 is None:
                if found.error and self.check_phones:
                    self.report(found.error, where(("phone",)), found.hint)
                ok = False
            else:
                if found.warning:
                    self.warn(found.warning, where(("phone",)), found.hint)
                fields["phone"] = found.e164
        birth = fields.get("dateOfBirth")
        if isinstance(birth, str) and (message := checks.date_problem(birth)):
            self.report(f"dateOfBirth: {message}", where(("dateOfBirth",)))
            ok = False
        tags = raw.get("tags", self.defaults.get("tags", []))
        for index, tag in enumerate(tags):
            declared = self.tags.get(tag)
            if declared is not None and declared.ensure == "absent":
                self.report(
                    f'tag "{tag}" is declared ensure: absent in this location',
                    where(("tags", index)),
                )
                ok = False
        values = dict(self.default_values)
        given = raw.get("custom_fields", {})
        checked = self._values(given, lambda p: where(("custom_fields", *p)), textual)
        ok = ok and len(checked) == len(given)
        values.update(checked)
        key = contact_key(email, fields.get("phone") if ok else None)
        if not ok or key is None:
            return None
        return Contact(
            key=key,
            fields=fields,
            tags=tuple(tags),
            tags_exclusive=raw.get("tags_exclusive", False),
            custom_fields=values or _NO_VALUES,
            ensure=raw.get("ensure", "present"),
            protect=raw.get("protect", False),
            source=where(()),
        )

    def _values(
        self, given: Mapping[str, Any], where: Where, textual: bool
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in given.items():
            spot = where((key,))
            declared = self.fields.get(key)
            if declared is None:
                if key not in self.broken_fields:
                    self.report(
                        f'custom field "{key}" is not declared in this location',
                        spot,
                        checks.did_you_mean(key, self.fields)
                        or "declare it under custom_fields:",
                    )
                continue
            if declared.ensure == "absent":
                self.report(f'custom field "{key}" is declared ensure: absent', spot)
                continue
            converted, message = checks.custom_value(declared, value, textual=textual)
            if message:
                self.report(message, spot)
                continue
            values[key] = converted
        return values
