"""State machines, revisions, versions, aliases and tags — on every backend."""

from __future__ import annotations

from dataclasses import replace

import pytest
from store_kit import T0, machine, revision, sm_arn

from stepline.store import (
    AliasRecord,
    InvalidPageToken,
    RecordNotFound,
    Store,
    StoreConflict,
)


def test_create_get_and_conflict(backend):
    async def body(store: Store) -> None:
        record = machine("Orders")
        stored, version = await store.create_state_machine(record, tags={"team": "a"})
        assert stored == record and version is None
        assert await store.get_state_machine(record.arn) == record
        assert await store.get_state_machine(sm_arn("Nope")) is None
        assert await store.list_tags(record.arn) == {"team": "a"}
        with pytest.raises(StoreConflict) as caught:
            await store.create_state_machine(machine("Orders", when=T0 + 5))
        assert caught.value.existing == record
        assert await store.get_revision(record.revision_id) == record.revision

    backend.run(body)


def test_create_with_publish_makes_version_one(backend):
    async def body(store: Store) -> None:
        record = machine("Pub")
        _, version = await store.create_state_machine(
            record, publish=True, version_description="first"
        )
        assert version is not None
        assert (version.arn, version.version, version.description) == (
            f"{record.arn}:1",
            1,
            "first",
        )
        assert version.revision == record.revision
        assert await store.get_version(version.arn) == version

    backend.run(body)


def test_update_keeps_old_revisions_and_can_publish(backend):
    async def body(store: Store) -> None:
        record = machine("Upd")
        await store.create_state_machine(record)
        new = revision("Upd", '{"StartAt": "Q"}', T0 + 10)
        updated, version = await store.update_state_machine(record.arn, new)
        assert version is None
        assert updated.revision == new and updated.creation_date == record.creation_date
        assert (await store.get_state_machine(record.arn)) == updated
        # The old revision stays readable: running executions keep their definition.
        assert await store.get_revision(record.revision_id) == record.revision
        newer = revision("Upd", '{"StartAt": "R"}', T0 + 20)
        _, version = await store.update_state_machine(
            record.arn, newer, publish=True, version_description="v"
        )
        assert version is not None and version.version == 1 and version.revision == newer
        with pytest.raises(RecordNotFound):
            await store.update_state_machine(sm_arn("Ghost"), revision("Ghost"))
        with pytest.raises(StoreConflict):  # revision ids are unique
            await store.update_state_machine(record.arn, newer)

    backend.run(body)


def test_deleting_then_removed(backend):
    async def body(store: Store) -> None:
        record = machine("Del")
        await store.create_state_machine(record, tags={"k": "v"}, publish=True)
        await store.create_alias(
            AliasRecord(
                f"{record.arn}:PROD", record.arn, "PROD", ((f"{record.arn}:1", 100),), T0, T0
            )
        )
        deleting = await store.mark_state_machine_deleting(record.arn)
        assert deleting is not None and deleting.status == "DELETING"
        with pytest.raises(StoreConflict) as caught:
            await store.create_state_machine(machine("Del"))
        assert caught.value.existing.status == "DELETING"
        with pytest.raises(StoreConflict):
            await store.update_state_machine(record.arn, revision("Del"))
        with pytest.raises(StoreConflict):
            await store.publish_version(record.arn, creation_date=T0)
        assert await store.remove_state_machine(record.arn) is True
        assert await store.remove_state_machine(record.arn) is False
        assert await store.get_state_machine(record.arn) is None
        assert await store.get_version(f"{record.arn}:1") is None
        assert await store.get_alias(f"{record.arn}:PROD") is None
        assert await store.list_tags(record.arn) == {}
        assert await store.mark_state_machine_deleting(record.arn) is None
        # The name is free again.
        await store.create_state_machine(machine("Del"))

    backend.run(body)


def test_list_state_machines_pages_over_250(backend):
    async def body(store: Store) -> None:
        names = [f"m{index:03d}" for index in range(257)]
        for name in reversed(names):
            await store.create_state_machine(machine(name))
        seen: list[str] = []
        token = None
        for _ in range(20):
            page = await store.list_state_machines(max_results=100, next_token=token)
            seen.extend(record.name for record in page.items)
            token = page.next_token
            if token is None:
                break
        assert seen == names
        default = await store.list_state_machines()
        assert len(default.items) == 100 and default.next_token is not None
        exact = await store.list_state_machines(max_results=257)
        assert len(exact.items) == 257 and exact.next_token is None
        with pytest.raises(ValueError):
            await store.list_state_machines(max_results=1001)

    backend.run(body)


def test_versions_publish_idempotent_numbering_and_listing(backend):
    async def body(store: Store) -> None:
        record = machine("Ver")
        await store.create_state_machine(record)
        first, created = await store.publish_version(record.arn, creation_date=T0, description="a")
        assert created and first.version == 1
        again, created = await store.publish_version(record.arn, creation_date=T0 + 1)
        assert not created and again == first
        with pytest.raises(StoreConflict):
            await store.publish_version(record.arn, creation_date=T0, expected_revision_id="old")
        numbers = [1]
        for index in range(2, 255):
            new = revision("Ver", f'{{"v": {index}}}', T0 + index)
            await store.update_state_machine(record.arn, new)
            version, created = await store.publish_version(
                record.arn, creation_date=T0 + index, expected_revision_id=new.revision_id
            )
            assert created and version.version == index
            numbers.append(index)
        assert await store.delete_version(f"{record.arn}:254") is True
        assert await store.delete_version(f"{record.arn}:254") is False
        numbers.pop()
        await store.update_state_machine(record.arn, revision("Ver", "{}", T0 + 999))
        version, _ = await store.publish_version(record.arn, creation_date=T0 + 999)
        assert version.version == 255  # never reuses a deleted number
        numbers.append(255)
        listed: list[int] = []
        token = None
        for _ in range(10):
            page = await store.list_versions(record.arn, max_results=100, next_token=token)
            listed.extend(v.version for v in page.items)
            token = page.next_token
            if token is None:
                break
        assert listed == sorted(numbers, reverse=True)
        with pytest.raises(RecordNotFound):
            await store.publish_version(sm_arn("Ghost"), creation_date=T0)

    backend.run(body)


def test_aliases_crud_and_version_protection(backend):
    async def body(store: Store) -> None:
        record = machine("Ali")
        await store.create_state_machine(record, publish=True)
        await store.update_state_machine(record.arn, revision("Ali", "{}", T0 + 1), publish=True)
        v1, v2 = f"{record.arn}:1", f"{record.arn}:2"
        alias = AliasRecord(
            f"{record.arn}:PROD", record.arn, "PROD", ((v1, 80), (v2, 20)), T0, T0, "d"
        )
        assert await store.create_alias(alias) == alias
        assert await store.get_alias(alias.arn) == alias
        with pytest.raises(StoreConflict) as caught:
            await store.create_alias(alias)
        assert caught.value.existing == alias
        with pytest.raises(RecordNotFound):
            await store.create_alias(
                replace(alias, arn=f"{record.arn}:X", name="X", routing=((f"{record.arn}:9", 100),))
            )
        with pytest.raises(StoreConflict):
            await store.delete_version(v1)
        updated = await store.update_alias(
            replace(alias, routing=((v2, 100),), description=None, update_date=T0 + 5)
        )
        assert updated.routing == ((v2, 100),) and updated.update_date == T0 + 5
        assert updated.creation_date == T0 and updated.description is None
        assert await store.get_alias(alias.arn) == updated
        assert await store.delete_version(v1) is True
        with pytest.raises(RecordNotFound):
            await store.update_alias(replace(alias, arn=f"{record.arn}:NOPE"))
        for index in range(5):
            await store.create_alias(
                replace(alias, arn=f"{record.arn}:a{index}", name=f"a{index}", routing=((v2, 100),))
            )
        page = await store.list_aliases(record.arn, max_results=4)
        rest = await store.list_aliases(record.arn, max_results=4, next_token=page.next_token)
        assert [a.name for a in page.items + rest.items] == ["PROD", "a0", "a1", "a2", "a3", "a4"]
        assert rest.next_token is None
        assert await store.delete_alias(alias.arn) is True
        assert await store.delete_alias(alias.arn) is False
        with pytest.raises(InvalidPageToken):
            await store.list_aliases(sm_arn("Other"), next_token=page.next_token)

    backend.run(body)


def test_tags(backend):
    async def body(store: Store) -> None:
        arn = sm_arn("Tagged")
        await store.tag_resource(arn, {"b": "2", "a": "1"})
        await store.tag_resource(arn, {"a": "one"})
        assert await store.list_tags(arn) == {"a": "one", "b": "2"}
        assert list(await store.list_tags(arn)) == ["a", "b"]
        await store.untag_resource(arn, ["a", "missing"])
        assert await store.list_tags(arn) == {"b": "2"}
        assert await store.list_tags(sm_arn("Untagged")) == {}

    backend.run(body)


def test_page_tokens_are_checked(backend):
    async def body(store: Store) -> None:
        for index in range(3):
            await store.create_state_machine(machine(f"t{index}"))
        page = await store.list_state_machines(max_results=1)
        token = page.next_token
        assert token is not None
        body_part, mac = token.split(".")
        for bad in (
            "garbage",
            token + "x",
            f"{body_part[:-2]}AA.{mac}",
            "a.b",
            "." * 3,
            "x" * 2000,
        ):
            with pytest.raises(InvalidPageToken):
                await store.list_state_machines(max_results=1, next_token=bad)
        with pytest.raises(InvalidPageToken):
            await store.list_versions(sm_arn("t0"), next_token=token)

    backend.run(body)
