"""Location tags, keyed by name; names match without case, as upstream compares them.

Two declared spellings of one tag (``VIP`` and ``vip``) are refused at ``validate``:
upstream would keep one tag, spelled as it was first created.

Config: ``tags: [name | {name, ensure?, protect?}]``. Read: one ``GET
/locations/{id}/tags`` (when none are declared, only if the token may: the list then
only names the unmanaged ones). Plan: the declared tags, plus the tags contacts use
that the location lacks (created for them; contacts depend on those creates). An
existing tag's ``key`` is upstream's spelling, so a saved-plan re-read by name finds it
again. Unmanaged: the tags neither declared nor used by a declared contact; deleted
when ``manage: {tags: exclusive}``. Export: every tag, by name.

Write: create is not idempotent upstream. After an ``AmbiguousWriteError`` (a 5xx or a
dropped connection) the list is re-read by name: found means done, else the create is
sent again (``shared.create_keyed``, bounded), so the contacts using the tag still run; a 400 for a name already taken (the same plan applied
twice) is success when the tag is there. A delete answered "not found" is verified with
one read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hlsync.core.fingerprint import fingerprint
from hlsync.core.model import (
    Contact,
    Kind,
    LocationSpec,
    ObservedLocation,
    ObservedTag,
    Tag,
)
from hlsync.core.plan import Change, FieldChange, address
from hlsync.kinds.base import (
    ExportContext,
    Exported,
    LocationBuilder,
    PlanContext,
    ReadContext,
    WriteContext,
)
from hlsync.kinds.change_fields import ChangeFailed, object_id, text_of
from hlsync.kinds.shared import (
    NamedUnmanaged,
    absent_change,
    create_keyed,
    declares,
    delete_verified,
    listing,
)
from hlsync.upstream.api import LocationApiLike
from hlsync.upstream.client import ApiError


class TagKind(NamedUnmanaged):
    name: Kind = "tag"
    section = "tags"
    nouns = ("tag", "tags")
    layer = 1
    delete_layer = 4
    lagging_read = False
    prune_consent: str | None = None

    def declared(self, spec: LocationSpec) -> Sequence[Tag]:
        return spec.tags

    def observed(self, location: ObservedLocation) -> Mapping[str, ObservedTag]:
        return location.tags

    def build(self, builder: LocationBuilder) -> tuple[Tag, ...]:
        tags: dict[str, Tag] = {}
        spellings: dict[str, str] = {}
        for index, item in enumerate(builder.data.get("tags", [])):
            if item is None:
                continue
            spec: dict[str, Any] = {"name": item} if isinstance(item, str) else item
            name: str = spec["name"]
            first = spellings.setdefault(name.casefold(), name)
            if first != name:
                builder.problem(
                    f'tag "{name}" differs only in case from "{first}"; HighLevel '
                    "compares tag names without case and keeps one tag, spelled as "
                    "it was first created",
                    builder.where(("tags", index)),
                    "write the tag one way in this location",
                )
                continue
            tags[name] = Tag(
                name=spec["name"],
                ensure=spec.get("ensure", "present"),
                protect=spec.get("protect", False),
                source=builder.where(("tags", index)),
            )
        return tuple(tags[n] for n in sorted(tags))

    def write_scopes(self, data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        if not declares(data, self.section):
            return ()
        return (
            ("locations/tags.readonly", "to read the declared tags"),
            ("locations/tags.write", "to write the declared tags"),
        )

    async def read(self, ctx: ReadContext) -> Mapping[str, ObservedTag]:
        return await listing(
            ctx,
            self.name,
            "locations/tags.readonly",
            lambda: _list_tags(ctx.api),
            {},
            needed=bool(ctx.spec.tags) or ctx.spec.exclusive(self.name),
        )

    async def reread(
        self, ctx: ReadContext, keys: set[str]
    ) -> Mapping[str, ObservedTag]:
        if not keys:
            return {}
        folded = {k.casefold() for k in keys}
        found = await _list_tags(ctx.api)
        return {k: v for k, v in found.items() if k.casefold() in folded}

    def plan(
        self, spec: LocationSpec, observed: ObservedLocation, ctx: PlanContext
    ) -> list[Change]:
        existing = {name.casefold(): tag for name, tag in observed.tags.items()}
        out: list[Change] = []
        seen: set[str] = set()
        wanted: list[tuple[str, Tag | Contact]] = [(t.name, t) for t in spec.tags]
        wanted += [
            (tag, c) for c in spec.contacts if c.ensure == "present" for tag in c.tags
        ]
        for name, decl in wanted:
            folded = name.casefold()
            if folded in seen:
                continue
            seen.add(folded)
            found = existing.get(folded)
            if isinstance(decl, Tag) and decl.ensure == "absent":
                key = name if found is None else found.name  # upstream's spelling
                out.append(
                    absent_change(spec.name, spec.id, "tag", key, name, decl, found)
                )
                continue
            if found is not None and isinstance(decl, Contact):
                continue  # exists and is not declared: nothing to manage
            out.append(
                Change(
                    address=address(spec.name, "tag", name),
                    action="noop" if found else "create",
                    kind="tag",
                    location=spec.name,
                    location_id=spec.id,
                    key=name if found is None else found.name,
                    object_id=None if found is None else found.id,
                    fields=() if found else (FieldChange("name", None, name),),
                    desired={} if found else {"name": name},
                    fingerprint=fingerprint(found),
                    api_calls=0 if found else 1,
                    source=decl.source,
                )
            )
        return out

    def unmanaged_objects(
        self, spec: LocationSpec, observed: ObservedLocation
    ) -> Mapping[str, ObservedTag]:
        return _unmanaged(spec, observed)

    async def export(self, ctx: ExportContext) -> Exported:
        names = sorted(await _list_tags(ctx.read.api), key=lambda n: (n.casefold(), n))
        return Exported(shared=names or None)

    async def write(self, change: Change, ctx: WriteContext) -> str:
        api = ctx.location_api(change)
        if change.action == "create":
            name = text_of(change, "name")
            try:
                created = await create_keyed(
                    lambda: api.create_tag(name), lambda: _find_tag(api, name), "tag"
                )
            except ApiError as exc:
                # A repeated apply of the same plan: the tag is there, as wanted.
                if exc.status != 400 or not await _tag_exists(api, name=name):
                    raise
                return "already existed upstream"
            return created.note("tag")
        if change.action == "delete":
            tag_id = object_id(change)
            return await delete_verified(
                lambda: api.delete_tag(tag_id),
                lambda: _tag_exists(api, tag_id=tag_id),
            )
        raise ChangeFailed(f"a tag cannot be changed with action {change.action!r}")


TAG = TagKind()


def _unmanaged(
    spec: LocationSpec, observed: ObservedLocation
) -> dict[str, ObservedTag]:
    """The observed tags neither declared nor used by a declared contact (the tag plan
    creates those for the contacts), by upstream's spelling."""
    managed = {t.name.casefold() for t in spec.tags}
    managed |= {
        tag.casefold() for c in spec.contacts if c.ensure == "present" for tag in c.tags
    }
    return {n: t for n, t in observed.tags.items() if n.casefold() not in managed}


async def _list_tags(api: LocationApiLike) -> dict[str, ObservedTag]:
    return {
        str(t["name"]): ObservedTag(id=str(t["id"]), name=str(t["name"]))
        for t in await api.list_tags()
    }


async def _find_tag(api: LocationApiLike, name: str) -> dict[str, Any] | None:
    for tag in await api.list_tags():
        if str(tag.get("name", "")).casefold() == name.casefold():
            return tag
    return None


async def _tag_exists(
    api: LocationApiLike, *, name: str | None = None, tag_id: str | None = None
) -> bool:
    for tag in await api.list_tags():
        if tag_id is not None and str(tag.get("id")) == tag_id:
            return True
        if name is not None and str(tag.get("name", "")).casefold() == name.casefold():
            return True
    return False
