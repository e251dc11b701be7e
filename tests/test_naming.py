"""Files named by the paper register at hand-out (sohoa.pipeline.naming): order numbers
follow the files already linked, go up in hand-out order, and a rolled-back transaction's
numbers are given out again."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from sohoa.pipeline.naming import RegisterNames
from sohoa.records import InventoryItem, session_scope, store
from sohoa.records.inventory import code_key


def _register(factory: sessionmaker) -> None:
    with session_scope(factory) as session:
        first = InventoryItem(code="HS-2020-000001", title="Khai sinh", year=2020)
        second = InventoryItem(code="HS-2020-000002", title="Kết hôn", unit="Phường 1", year=2020)
        session.add_all([first, second])
        session.flush()
        batch = store.get_or_create_batch(session, "b", "/scans", {})
        store.register_records(session, batch.id, [("old", "old-scan")])
        record = store.get_record(session, "old")
        record.inventory_item_id = first.id
        record.output_path = "/archive/khai-sinh/HS-2020-000001.2.pdf"  # numbers 1-2 are taken


def test_numbers_follow_the_linked_files_in_hand_out_order(factory: sessionmaker) -> None:
    _register(factory)
    with session_scope(factory) as session:
        names = RegisterNames.load(session)
        assert names is not None
        names.begin()
        entries = names.entries_for(
            session, ["HS-2020-000001", "unregistered", "HS-2020-000002/", "hs-2020-000001.pdf"]
        )
    numbered = [(e.code, e.order_number) if e else None for e in entries]
    assert numbered == [("HS-2020-000001", 3), None, ("HS-2020-000002", 1), ("HS-2020-000001", 4)]
    assert entries[2].unit == "Phường 1" and entries[2].title == "Kết hôn"


def test_a_rolled_back_hand_out_gives_the_same_numbers_again(factory: sessionmaker) -> None:
    _register(factory)
    with session_scope(factory) as session:
        names = RegisterNames.load(session)
        names.begin()
        assert [e.order_number for e in names.entries_for(session, ["HS-2020-000002"])] == [1]
        names.begin()  # the next transaction
        again = names.entries_for(session, ["HS-2020-000002", "HS-2020-000001"])
        assert [e.order_number for e in again] == [2, 3]
        names.roll_back()  # that transaction failed: its records go out again
        again = names.entries_for(session, ["HS-2020-000002", "HS-2020-000001"])
        assert [e.order_number for e in again] == [2, 3]


def test_a_record_of_an_item_removed_since_the_run_began_is_not_named(
    factory: sessionmaker,
) -> None:
    _register(factory)
    with session_scope(factory) as session:
        names = RegisterNames.load(session)
        session.delete(session.get(InventoryItem, names.item_ids[code_key("HS-2020-000002")]))
        session.flush()
        assert names.entries_for(session, ["HS-2020-000002"]) == [None]


def test_no_register_names_nothing(factory: sessionmaker) -> None:
    with session_scope(factory) as session:
        assert RegisterNames.load(session) is None
