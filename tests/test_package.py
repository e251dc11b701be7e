"""`sohoa package`: BagIt transfer packages of archived records, validated by bagit-python and
the METS schema; damaged copies left out; an interrupted run continues; bad targets refused."""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
from pathlib import Path

import bagit
import pytest
import yaml
from lxml import etree
from sqlalchemy import update

from sohoa.config import Settings, load_settings
from sohoa.pipeline import package as package_pipeline
from sohoa.pipeline.package import PackageRequest, make_package
from sohoa.records import InventoryItem, Record, coverage, database_session
from sohoa.records.packages import Selection
from sohoa.transfer import BagWriter, mets_problems, partial_path
from sohoa.transfer.mets import PREMIS_NS
from sohoa.transfer.schemas import METS_NS
from tests import pdfa_audit
from tests.conftest import events_per_record, invoke
from tests.test_tamper import archive_copies

FONDS = {"identifier": "G09.01", "organ_id": "000.00.09.H29", "fond_name": "UBND phường Bến Nghé",
         "archives_time": "2019-2024", "paper_total": 1200}  # fmt: skip
NS = {"mets": METS_NS, "premis": PREMIS_NS}


def _dossier(n: int) -> dict:
    return {
        "FileCode": f"000.00.09.H29.2024.KS-{n:03d}",
        "Title": f"Hồ sơ khai sinh số {n}",
        "Maintenance": "Vĩnh viễn",
        "Rights": "Hạn chế sử dụng",
        "Creator": "UBND phường",
        "Language": "vi",
        "StartDate": "2024-01-05",
        "EndDate": "2024-01-09",
        "DocTotal": 2,
        "PageTotal": 1,
        "Description": "Đăng ký khai sinh (1.001193)",
    }


@pytest.fixture
def archived(initialised: Settings, unsigned_pdf: bytes) -> list[tuple[str, Path]]:
    """Three archived records with signed copies and NĐ 30 dossier metadata; the fonds set in
    ./config.yaml."""
    Path("config.yaml").write_text(
        yaml.safe_dump({"archive": {"fonds": FONDS}}, allow_unicode=True), encoding="utf-8"
    )
    records = archive_copies(initialised, unsigned_pdf, 3)
    with database_session(initialised.database_url) as session:
        for n, (uid, _) in enumerate(records):
            meta = {"dossier": _dossier(n), "agency": "UBND phường Bến Nghé",
                    "file_name": f"000.00.09.H29.2024.KS-{n:03d}.001.pdf"}  # fmt: skip
            session.execute(update(Record).where(Record.uid == uid).values(meta=meta))
    return records


def test_package_is_a_valid_bag_with_the_files_as_archived_and_their_history(
    archived: list[tuple[str, Path]], workdir: Path
) -> None:
    settings = load_settings()
    assert "handed over" not in invoke("coverage").output
    result = invoke("package", "--out", "bag")
    assert result.exit_code == 0, result.output
    bag_dir = workdir / "bag"
    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # raises on any problem
    assert bag.version_info == (1, 0)
    assert sorted(bag.algorithms) == ["sha256", "sha512"]
    assert bag.info["Identifier"] == "G09.01" and bag.info["OrganId"] == "000.00.09.H29"
    assert bag.info["FondName"] == "UBND phường Bến Nghé" and bag.info["PaperTotal"] == "1200"
    assert bag.info["Record-Count"] == "3" and bag.info["Excluded-Record-Count"] == "0"
    assert not partial_path(bag_dir).exists()
    for n, (uid, archived_path) in enumerate(archived):
        folder = bag_dir / "data" / "records" / uid
        pdf = folder / f"000.00.09.H29.2024.KS-{n:03d}.001.pdf"
        assert pdf.read_bytes() == archived_path.read_bytes()
        assert mets_problems(folder / "mets.xml") == []
        mets = etree.parse(str(folder / "mets.xml"))
        [checksum] = mets.xpath("//mets:file/@CHECKSUM", namespaces=NS)
        assert checksum == hashlib.sha256(pdf.read_bytes()).hexdigest()
        # Every event of the record before the hand-over is a PREMIS event, with its agents.
        [premis_ref] = mets.xpath("//mets:digiprovMD/mets:mdRef", namespaces=NS)
        premis = etree.parse(str(folder / "premis.xml"))
        assert (
            premis_ref.get("CHECKSUM")
            == hashlib.sha256((folder / "premis.xml").read_bytes()).hexdigest()
        )
        kinds = premis.xpath("//premis:event/premis:eventType/text()", namespaces=NS)
        assert kinds == ["digest", "ocr", "pdfa", "sign"]
        agents = premis.xpath("//premis:agent/premis:agentName/text()", namespaces=NS)
        assert {"tesseract", "pikepdf", "pyHanko"} <= set(agents)
        dossier = etree.parse(str(folder / "dossier.xml")).getroot()
        assert dossier.findtext("{*}FileCode") == f"000.00.09.H29.2024.KS-{n:03d}"
    with open(bag_dir / "data" / "inventory.csv", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [r["record_id"] for r in rows] == [uid for uid, _ in archived]
    assert rows[0]["title"] == "Hồ sơ khai sinh số 0"
    assert events_per_record(settings, "transfer") == {uid: 1 for uid, _ in archived}
    validated = invoke("package", "--validate", str(bag_dir))
    assert validated.exit_code == 0 and " valid " in validated.output, validated.output


def test_a_damaged_copy_is_left_out_with_its_reason(
    archived: list[tuple[str, Path]], workdir: Path
) -> None:
    (kept, _), (damaged, damaged_path), (gone, gone_path) = archived
    damaged_path.write_bytes(damaged_path.read_bytes() + b"%%EOF\n")
    gone_path.unlink()
    pdfa_audit.exclude(damaged_path)
    result = invoke("package", "--out", "bag")
    assert result.exit_code == 2, result.output
    assert f"left out: {damaged} " in result.output and "sha256_mismatch" in result.output
    assert f"left out: {gone} " in result.output and "missing" in result.output
    bag_dir = workdir / "bag"
    bagit.Bag(str(bag_dir)).validate()
    assert [p.name for p in (bag_dir / "data" / "records").iterdir()] == [kept]
    with open(bag_dir / "data" / "excluded.csv", encoding="utf-8") as stream:
        reasons = {r["record_id"]: r["reason"].split(":")[0] for r in csv.DictReader(stream)}
    assert reasons == {damaged: "sha256_mismatch", gone: "missing"}
    assert events_per_record(load_settings(), "transfer") == {kept: 1}
    assert "handed over to the historical archive: 1 dossier(s)" in invoke("coverage").output


def test_an_interrupted_run_continues_where_it_stopped(
    archived: list[tuple[str, Path]], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings()
    monkeypatch.setattr(package_pipeline, "CHUNK", 1)
    written: list[str] = []
    real_write = BagWriter.write_record

    def write_then_stop(self, record, now):  # the second record: Ctrl-C while it is written
        if len(written) == 1:
            raise KeyboardInterrupt
        written.append(record.uid)
        return real_write(self, record, now)

    monkeypatch.setattr(BagWriter, "write_record", write_then_stop)
    stopped = invoke("package", "--out", "bag")
    assert stopped.exit_code == 130 and "run the same command again" in stopped.output
    assert not (workdir / "bag").exists() and partial_path(workdir / "bag").is_dir()
    monkeypatch.setattr(BagWriter, "write_record", real_write)

    again = make_package(settings, PackageRequest(workdir / "bag"))
    assert again.resumed and (again.records, again.excluded) == (3, 0)
    bagit.Bag(str(workdir / "bag")).validate()
    assert events_per_record(settings, "transfer") == {uid: 1 for uid, _ in archived}


def test_a_folder_that_is_not_this_selections_package_is_refused(
    archived: list[tuple[str, Path]], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "taken").mkdir()
    result = invoke("package", "--out", "taken")
    assert result.exit_code == 1 and "already exists" in result.output
    assert len(result.output.strip().splitlines()) == 1

    monkeypatch.setattr(BagWriter, "write_record", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        make_package(load_settings(), PackageRequest(workdir / "half", Selection(batch="box-t")))
    other = invoke("package", "--out", "half", "--procedure", "khai_sinh")
    assert other.exit_code == 1 and "another selection" in other.output, other.output
    nothing = invoke("package", "--out", "none", "--batch", "no-such-batch")
    assert nothing.exit_code == 1 and "no archived record" in nothing.output


def _interrupt(*_args: object) -> None:
    raise KeyboardInterrupt


def test_validate_reports_a_changed_payload_file_and_an_invalid_mets(
    archived: list[tuple[str, Path]], workdir: Path
) -> None:
    assert invoke("package", "--out", "bag").exit_code == 0
    uid = archived[0][0]
    folder = workdir / "bag" / "data" / "records" / uid
    [pdf] = folder.glob("*.pdf")
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    result = invoke("package", "--validate", "bag")
    assert result.exit_code == 2 and "NOT valid" in result.output, result.output
    mets = etree.parse(str(folder / "mets.xml"))
    structure = mets.getroot().find(f"{{{METS_NS}}}structMap")
    mets.getroot().remove(structure)  # METS requires a structMap
    mets.write(str(folder / "mets.xml"))
    assert any("structMap" in p for p in mets_problems(folder / "mets.xml"))


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)  # fmt: skip
    return done.returncode == 0


def test_a_disk_that_fills_leaves_no_bag_looking_complete(
    archived: list[tuple[str, Path]], workdir: Path
) -> None:
    small = workdir / "small"
    if not _mount_tmpfs(small, "160k"):
        pytest.skip("cannot mount a tmpfs here (needs root and mount permission)")
    try:
        size = archived[0][1].stat().st_size
        assert size * 3 > 160 * 1024, "the records must not fit in the tmpfs"
        result = invoke("package", "--out", str(small / "bag"))
        assert result.exit_code == 1 and "no space left" in result.output, result.output
        assert not (small / "bag").exists()
        assert partial_path(small / "bag").is_dir()  # kept to continue once there is room
    finally:
        subprocess.run(["umount", str(small)], check=False)
    shutil.rmtree(small, ignore_errors=True)


def test_the_selection_chooses_the_records(
    archived: list[tuple[str, Path]], workdir: Path, unsigned_pdf: bytes
) -> None:
    others = archive_copies(load_settings(), unsigned_pdf, 1, batch="box-u")
    assert invoke("package", "--out", "u", "--batch", "box-u").exit_code == 0
    assert [p.name for p in (workdir / "u" / "data" / "records").iterdir()] == [others[0][0]]
    assert invoke("package", "--out", "all", "--procedure", "1.001193").exit_code == 0
    assert len(list((workdir / "all" / "data" / "records").iterdir())) == 4


def test_a_record_written_but_not_recorded_and_no_longer_selected_is_removed(
    archived: list[tuple[str, Path]], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run stops after writing a record's files, before recording them; by the next run
    the record is no longer archived (e.g. `sohoa verify` failed it): its files must go."""
    settings = load_settings()
    monkeypatch.setattr(package_pipeline, "CHUNK", 1)
    real_write = BagWriter.write_record
    calls: list[str] = []

    def write_then_stop(self, record, now):
        written = real_write(self, record, now)
        calls.append(record.uid)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return written

    monkeypatch.setattr(BagWriter, "write_record", write_then_stop)
    assert invoke("package", "--out", "bag").exit_code == 130
    unrecorded = calls[1]
    assert (partial_path(workdir / "bag") / "data" / "records" / unrecorded).is_dir()
    with database_session(settings.database_url) as session:
        session.execute(update(Record).where(Record.uid == unrecorded).values(state="failed"))
    monkeypatch.setattr(BagWriter, "write_record", real_write)
    result = invoke("package", "--out", "bag")
    assert result.exit_code == 0, result.output
    bagit.Bag(str(workdir / "bag")).validate()
    kept = {p.name for p in (workdir / "bag" / "data" / "records").iterdir()}
    assert kept == {uid for uid, _ in archived} - {unrecorded}
    assert not (workdir / "bag" / "in-flight.txt").exists()


def test_coverage_counts_handed_over_registered_dossiers_once(
    archived: list[tuple[str, Path]], workdir: Path
) -> None:
    settings = load_settings()
    with database_session(settings.database_url) as session:
        item = InventoryItem(code="HS-2021-000000", title="Khai sinh", year=2021)
        session.add(item)
        session.flush()
        scanned_twice = [uid for uid, _ in archived[:2]]  # two copies of one dossier
        session.execute(
            update(Record).where(Record.uid.in_(scanned_twice)).values(inventory_item_id=item.id)
        )
    assert invoke("package", "--out", "bag").exit_code == 0
    with database_session(settings.database_url) as session:
        assert coverage.handed_over(session) == 1  # the register's dossier, not its 2 copies
    assert "handed over to the historical archive: 1 dossier(s)" in invoke("coverage").output


def test_a_run_stopped_after_the_rename_records_the_transfer_next_time(
    archived: list[tuple[str, Path]], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bag is named but the `transfer` events are not yet committed: the same command
    re-validates the named bag and records them."""
    settings = load_settings()
    with monkeypatch.context() as patched:
        patched.setattr(package_pipeline.packages, "complete_package", _interrupt)
        assert invoke("package", "--out", "bag").exit_code == 130
    assert (workdir / "bag" / "bagit.txt").is_file()
    assert events_per_record(settings, "transfer") == {}
    again = invoke("package", "--out", "bag")
    assert again.exit_code == 0 and "(continued)" in again.output, again.output
    assert events_per_record(settings, "transfer") == {uid: 1 for uid, _ in archived}
    assert invoke("package", "--out", "bag").exit_code == 1  # complete now: refused
