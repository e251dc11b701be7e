"""What the commands print: one table per CSV with a header even when empty, JSON with
everything the table shows, one spelling per option (old ones still accepted), and
summaries that say what to do next."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sohoa.config import Settings
from sohoa.pipeline import RunReport
from sohoa.records import database_session
from tests.conftest import invoke
from tests.test_inventory import HEADER, _add_records


def _seed(settings: Settings) -> None:
    with database_session(settings.database_url) as session:
        _add_records(session, "box-1", {"HS-1": "archived", "HS-2": "failed", "HS-9": None})


def _table(text: str) -> list[dict[str, str]]:
    """The one CSV table of `text`: a second header inside would show up as a row."""
    return list(csv.DictReader(io.StringIO(text)))


def _ok(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_status_csv_is_one_table_and_json_has_the_failures(initialised: Settings) -> None:
    _seed(initialised)
    rows = _table(_ok("status", "--batch", "box-1", "--format", "csv"))
    assert {r["state"]: r["records"] for r in rows}["failed"] == "1"
    assert all(set(r) == {"state", "records"} for r in rows)
    payload = json.loads(_ok("status", "box-1", "--format", "json"))  # the old spelling
    assert payload["failures_by_reason"] == [{"reason": "timeout", "records": 1, "paths": "HS-2"}]
    assert payload["failures"][0]["batch"] == "box-1"
    assert payload["records_archived"] == 1


def test_an_empty_csv_has_its_header(initialised: Settings) -> None:
    assert _ok("failures", "--format", "csv").splitlines() == [
        "record_id,batch,source,reason,attempts,message"
    ]
    assert _ok("review", "list", "--format", "csv").splitlines() == [
        "record_id,batch,source,procedure,confidence,ocr_confidence"
    ]


def test_link_csv_is_one_table_with_a_kind_column(initialised: Settings, tmp_path: Path) -> None:
    _seed(initialised)
    register = tmp_path / "register.csv"
    register.write_text(HEADER + "HS-1,Một,,,,,\nHS-3,Ba,,,,,\n", encoding="utf-8")
    assert invoke("inventory", "import", str(register)).exit_code == 0
    rows = _table(_ok("link", "--format", "csv"))
    kinds = {(r["kind"], r["source"] or r["code"]) for r in rows}
    assert kinds == {("scanned_not_registered", "HS-2"), ("scanned_not_registered", "HS-9"),
                     ("registered_not_scanned", "HS-3")}  # fmt: skip


def test_export_csv_and_jsonl(initialised: Settings) -> None:
    _seed(initialised)
    rows = _table(_ok("export", "--format", "csv"))
    assert [(r["source"], r["state"], r["pages"]) for r in rows] == [
        ("HS-1", "archived", "2"), ("HS-2", "failed", "0"), ("HS-9", "pending", "0")
    ]  # fmt: skip
    lines = [json.loads(line) for line in _ok("export").splitlines()]
    assert [line["source"] for line in lines] == ["HS-1", "HS-2", "HS-9"]
    assert isinstance(lines[0]["pages"], list) and "text" in lines[0]


def test_coverage_json_carries_the_basis_and_the_projection(
    initialised: Settings, tmp_path: Path
) -> None:
    _seed(initialised)
    records = json.loads(_ok("coverage", "--format", "json"))
    assert (records["basis"], records["projection"]) == ("records", None)
    register = tmp_path / "register.csv"
    register.write_text(HEADER + "HS-1,Một,,,,,\nHS-3,Ba,,,,,\n", encoding="utf-8")
    assert invoke("inventory", "import", str(register)).exit_code == 0
    answer = json.loads(_ok("coverage", "--format", "json"))
    assert answer["basis"] == "inventory"
    assert answer["rows"][0]["items"] == 2 and answer["rows"][0]["digitized"] == 1
    ahead = answer["projection"]
    assert (ahead["items"], ahead["remaining"], ahead["window_days"]) == (2, 1, 7)
    assert {"per_day", "projected_completion"} <= set(ahead)


def test_events_take_the_record_like_review_show_and_the_old_option(
    initialised: Settings,
) -> None:
    _seed(initialised)
    by_argument = json.loads(_ok("events", "box-1:HS-1", "--format", "json"))
    by_option = json.loads(_ok("events", "--record", "box-1:HS-1", "--format", "json"))
    assert by_argument == by_option
    assert invoke("events", "no-such-record").output == invoke(
        "events", "--record", "no-such-record").output  # fmt: skip
    assert invoke("events").exit_code == 1
    assert "--record" not in _ok("events", "--help")


def test_procedures_lists_the_catalogue(initialised: Settings) -> None:
    rows = _table(_ok("procedures", "--format", "csv"))
    assert {"key": "khai_sinh", "code": "1.001193", "name": "Đăng ký khai sinh",
            "level": "xa"} in rows  # fmt: skip


def test_one_spelling_per_option_in_the_help() -> None:
    assert "-j, --workers" in _ok("run", "--help")
    assert "-j, --workers" in _ok("verify", "--help")
    for command in ("status", "failures", "resume"):
        usage = _ok(command, "--help")
        assert "--batch NAME" in usage and "[BATCH]" not in usage, command


def test_a_run_of_an_empty_folder_says_what_a_record_is(initialised: Settings) -> None:
    Path("empty").mkdir()
    result = invoke("-q", "run", "empty")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "error: no records found in empty: each sub-folder of SOURCE, and each loose file in "
        "it, is one record; names starting with '.' or '_' are skipped"
    ]  # -q: without the progress line "batch empty: 0 record(s) to process"


def test_failed_records_past_the_limit_are_not_sent_to_a_plain_resume() -> None:
    from sohoa.cli.run import _failed_advice

    report = RunReport("box", counts={"failed": 3}, max_attempts=3, failed_at_limit=2)
    assert _failed_advice(report) == (
        "3 record(s) failed (see 'sohoa failures --batch box'); 1 will be retried by "
        "'sohoa resume --batch box'; 2 failed 3 times (pipeline.max_attempts): fix their "
        "source first, then 'sohoa resume --batch box --retry-all'"
    )
    report = RunReport("box", counts={"failed": 1}, max_attempts=3, failed_at_limit=1)
    assert "will be retried" not in _failed_advice(report)
