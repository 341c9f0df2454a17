"""The state store: dotted paths, copies, typed state, reset."""

from __future__ import annotations

import asyncio

import pytest

from runtime.engine.store import DictState, StateStore


class Profile:
    def __init__(self) -> None:
        self.name = "anon"
        self.tags: list[str] = []


def test_dotted_paths_create_dict_levels_and_index_lists():
    store = StateStore()
    store.set_sync("user.name", "ada")
    store.set_sync("items", [10, 20, 30])
    store.set_sync("items.1", 21)
    assert store.get_sync("user.name") == "ada"
    assert store.get_sync("items.1") == 21
    assert store.get_sync("items.-1") == 30
    assert isinstance(store.get_sync("user"), DictState)
    assert store.get_sync("user").name == "ada"  # DictState reads keys as attributes


def test_missing_paths_raise_unless_a_default_is_given():
    store = StateStore()
    with pytest.raises(ValueError, match="path 'a.b' not found"):
        store.get_sync("a.b")
    assert store.get_sync("a.b", None) is None
    with pytest.raises(ValueError, match="path cannot be empty"):
        store.set_sync("", 1)


def test_typed_state_reads_and_writes_attributes():
    store = StateStore(Profile)
    store.set_sync("name", "bob")
    assert store.get_sync("name") == "bob"
    with pytest.raises(ValueError, match="no 'missing' to set into"):
        store.set_sync("missing.deeper", 1)


def test_async_api_get_state_is_a_copy_and_clear_resets():
    async def main():
        store = StateStore()
        await store.set("count", 1)
        snapshot = await store.get_state()
        snapshot["count"] = 99
        assert await store.get("count") == 1
        await store.set_state(DictState(count=5))
        assert await store.get("count") == 5
        async with store.edit_state() as state:
            state["count"] += 1
        assert await store.get("count") == 6
        await store.clear()
        assert await store.get("count", default="gone") == "gone"

    asyncio.run(main())
