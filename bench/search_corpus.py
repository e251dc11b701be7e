"""A fast generator of archived records for the search benchmarks: multi-page Vietnamese
administrative texts (names, addresses, dates, document numbers, CCCD numbers, the
catalogue's phrases) without rendering or OCR, loaded straight into the records tables and
then indexed by sohoa.records.search."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from sohoa.records.models import Batch, Page, Record
from sohoa.sample.people import (
    FAMILY_NAMES,
    FAMILY_WEIGHTS,
    GIVEN_FEMALE,
    GIVEN_MALE,
    MIDDLE_FEMALE,
    MIDDLE_MALE,
    RELATIONS,
    STREETS,
)

CONFIG = Path(__file__).resolve().parents[1] / "sohoa" / "config.yaml"
CATALOGUE = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["classify"]["catalogue"]
UNITS = ("UBND phường Bến Nghé", "UBND phường Đa Kao", "UBND xã An Phú", "UBND phường 7")
# Boilerplate of the forms (cam đoan, căn cứ), cut at random lengths.
_FILLER_TEXT = (
    "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước "
    "pháp luật về cam đoan của mình. Hồ sơ nộp trực tiếp tại Bộ phận một cửa. Kính gửi Ủy "
    "ban nhân dân phường. Căn cứ Luật Hộ tịch ngày 20 tháng 11 năm 2014; Căn cứ Nghị định "
    "số 123/2015/NĐ-CP của Chính phủ quy định chi tiết một số điều và biện pháp thi hành."
)
FILLER = tuple(_FILLER_TEXT.split(" "))
_FAMILY_P = np.array(FAMILY_WEIGHTS) / sum(FAMILY_WEIGHTS)


@dataclass(frozen=True)
class Dossier:
    code: str
    title: str
    procedure: str
    procedure_code: str | None
    year: int
    unit: str
    name: str  # the applicant
    cccd: str
    pages: tuple[str, ...]


def person(rng: np.random.Generator) -> str:
    male = rng.random() < 0.5
    family = FAMILY_NAMES[int(rng.choice(len(FAMILY_NAMES), p=_FAMILY_P))]
    middle = (MIDDLE_MALE if male else MIDDLE_FEMALE)[int(rng.integers(10))]
    given = GIVEN_MALE if male else GIVEN_FEMALE
    return f"{family} {middle} {given[int(rng.integers(len(given)))]}"


def _date(rng: np.random.Generator, year: int) -> dt.date:
    return dt.date(year, 1, 1) + dt.timedelta(days=int(rng.integers(365)))


def dossier(
    rng: np.random.Generator, number: int, name: str | None = None, *, name_in_title: bool = True
) -> Dossier:
    procedure = CATALOGUE[int(rng.integers(len(CATALOGUE)))]
    year = int(rng.integers(2010, 2026))
    name = name or person(rng)
    cccd = "0" + "".join(str(d) for d in rng.integers(0, 10, 11))
    when = _date(rng, year)
    code = f"HS-{year}-{number:07d}"
    street = STREETS[int(rng.integers(len(STREETS)))]
    first = [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        f"Số: {int(rng.integers(1, 999))}/QĐ-UBND",
        f"TỜ KHAI {(procedure['phrases'] or [procedure['name']])[0].upper()}", f"Mã hồ sơ: {code}",
        f"Họ, chữ đệm, tên người yêu cầu: {name}",
        f"Số định danh cá nhân: {cccd}",
        f"Nơi cư trú: {int(rng.integers(1, 300))} đường {street}",
        f"Ngày sinh: {_date(rng, int(rng.integers(1950, 2005))):%d/%m/%Y}",
        *(f"{kw.capitalize()}: {person(rng)}" for kw in procedure["keywords"][:3]),
        " ".join(FILLER[: int(rng.integers(20, len(FILLER)))]),
        f"ngày {when.day} tháng {when.month} năm {when.year}", f"NGƯỜI YÊU CẦU {name.upper()}",
    ]  # fmt: skip
    pages = ["\n".join(first)]
    for _ in range(int(rng.integers(1, 4))):
        members = [
            f"{i} {person(rng)} {_date(rng, int(rng.integers(1940, 2020))):%d/%m/%Y} "
            f"{RELATIONS[int(rng.integers(len(RELATIONS)))]}"
            for i in range(1, 5)
        ]
        words = " ".join(FILLER[int(rng.integers(10)) :])
        pages.append("\n".join(["THÔNG TIN BỔ SUNG", *members, words, f"Mã hồ sơ: {code}"]))
    unit = UNITS[int(rng.integers(len(UNITS)))]
    title = f"{procedure['name']} - {name}" if name_in_title else procedure["name"]
    return Dossier(
        code, title, procedure["key"], procedure["code"], year, unit, name, cccd, tuple(pages)
    )


def load(engine: Engine, dossiers: Iterator[Dossier], batch: str = "bench") -> int:
    """Insert archived records and their pages in bulk (no index: the benchmark builds it)."""
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        batch_id = connection.execute(
            insert(Batch).values(name=batch, source="/bench", config={}).returning(Batch.id)
        ).scalar_one()
    count = 0
    chunk: list[Dossier] = []

    def flush() -> None:
        with engine.begin() as connection:
            ids = connection.execute(
                insert(Record).returning(Record.id, sort_by_parameter_order=True),
                [{"uid": uuid.uuid4().hex, "batch_id": batch_id, "rel_path": d.code,
                  "state": "archived", "attempts": 1, "source_files": [], "procedure": d.procedure,
                  "procedure_code": d.procedure_code, "page_count": len(d.pages),
                  "output_path": f"/archive/{d.procedure}/{d.code}.pdf", "created_at": now,
                  "updated_at": now, "archived_at": now,
                  "metadata": {"register": {"code": d.code, "title": d.title, "unit": d.unit,
                                            "year": d.year}}}
                 for d in chunk],
            ).scalars().all()  # fmt: skip
            connection.execute(
                insert(Page),
                [{"record_id": rid, "index": i, "source_file": "p.tif", "index_in_file": i,
                  "rotation": 0, "skew_deg": 0.0, "ocr_confidence": 90.0, "width": 2480,
                  "height": 3508, "dpi": 300.0, "flags": [], "text": page}
                 for rid, d in zip(ids, chunk, strict=True) for i, page in enumerate(d.pages)],
            )  # fmt: skip
        chunk.clear()

    for item in dossiers:
        chunk.append(item)
        count += 1
        if len(chunk) == 2000:
            flush()
    if chunk:
        flush()
    return count


def _admin_url() -> str:
    admin_url = os.environ.get("SOHOA_TEST_POSTGRES_URL")
    if not admin_url:
        sys.exit("set SOHOA_TEST_POSTGRES_URL (bash tools/db-up.sh 5432 --url-only)")
    return admin_url


def _kept_name(keep: Path) -> str:
    return "sohoa_bench_" + re.sub(r"\W", "_", keep.stem)


def _on_server(admin_url: str, name: str) -> str:
    """The URL of database `name` on the server of `admin_url`."""
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def kept_database(backend: str, keep: Path) -> str:
    """The URL of the database `fresh_database(backend, ..., keep)` made and left."""
    if backend == "sqlite":
        return f"sqlite:///{keep.resolve()}"
    return _on_server(_admin_url(), _kept_name(keep))


@contextmanager
def fresh_database(backend: str, prefix: str, keep: Path | None = None) -> Iterator[str]:
    """The URL of a new empty database, removed afterwards: SQLite in a temporary folder, or
    PostgreSQL on the server of SOHOA_TEST_POSTGRES_URL (`bash tools/db-up.sh 5432`). With
    `keep`, SQLite's database is that file and PostgreSQL's is named after its stem, and
    either stays, to be queried again (a 10^6 build takes half an hour on SQLite, forty
    minutes on PostgreSQL)."""
    if backend == "sqlite" and keep is not None:
        if keep.exists():
            sys.exit(f"{keep} exists: give a new file to keep the database in")
        yield kept_database(backend, keep)
        return
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    admin_url = _admin_url()
    name = _kept_name(keep) if keep else f"sohoa_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if keep and connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                      {"n": name}):  # fmt: skip
            sys.exit(f"PostgreSQL database {name} exists: give a new name to keep it under")
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _on_server(admin_url, name)
    finally:
        if keep is None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
