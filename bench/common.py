"""Shared pieces of the benchmarks: corpus, page extraction, CER, command pools, tables.

CPU accounting: every external command is started with Popen and reaped with os.wait4, whose
rusage covers the command and every descendant it reaped (for `sohoa run` that is the Dask
nanny/worker processes of its local cluster and their tesseract children). A pool's CPU is the
RUSAGE_CHILDREN user+sys delta of this process around the pool; peak RSS is the largest
maxrss of one command of the pool as GNU time reports it (its largest process, reaped
descendants included).
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from rapidfuzz.distance import Levenshtein

from sohoa.config import load_settings
from sohoa.ingest import iter_pages
from sohoa.sample import SampleSummary, generate_sample

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
VENV_BIN = REPO / ".venv" / "bin"
OUT_DIR = BENCH_DIR / "out"
MAX_PIXELS = 200_000_000
DEFAULT_DPI = 300.0  # what sohoa assumes for files that declare none
GNU_TIME = "/usr/bin/time"
CPU_NOTE = (
    "CPU = user+sys of child processes (getrusage RUSAGE_CHILDREN delta around each system's "
    "run; children are reaped with wait4, so their own reaped descendants - Dask workers of "
    "sohoa's local cluster, tesseract/gs under ocrmypdf - are included). Peak RSS = largest "
    "ru_maxrss of one process (max child, via /usr/bin/time %M), not a sum."
)


# --- machine --------------------------------------------------------------------------------


def machine_line(when: str) -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"[{when}] cores: os.cpu_count={cores}, sched_getaffinity={usable}; loadavg {load}"


def cpu_probe_us() -> float:
    """CPU microseconds of `sum(range(1000))` here and now: this shared VM's speed varies
    with its neighbours' load, so every benchmark prints it beside its numbers (an idle
    3 GHz core takes about 8-10)."""
    start = time.process_time()
    for _ in range(20_000):
        sum(range(1000))
    return (time.process_time() - start) / 20_000 * 1e6


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any SOHOA_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


# --- corpus ---------------------------------------------------------------------------------


def make_corpus(
    dest: Path, records: int, seed: int, *, dpi: int = 200, unknown_share: float = 0.1
) -> SampleSummary:
    catalogue = list(load_settings(environ={}).classify.catalogue)
    return generate_sample(dest, records, seed, catalogue, dpi=dpi, unknown_share=unknown_share)


def read_truth(corpus: Path) -> list[dict[str, Any]]:
    lines = (corpus / "_truth.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def source_files(truth: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every scanned file (relative path), each once, in record order then name order."""
    files: list[str] = []
    for record in truth:
        for name in sorted({page["file"] for page in record["pages"]}):
            files.append(name)
    return files


@dataclass(frozen=True)
class PageImage:
    record: str
    file: str
    index_in_file: int
    png: Path
    dpi: float
    truth: Mapping[str, Any]


def extract_pages(corpus: Path, truth: Sequence[Mapping[str, Any]], dest: Path) -> list[PageImage]:
    """Decode every page (multi-page TIFF/PDF included) to a PNG carrying its dpi."""
    dest.mkdir(parents=True, exist_ok=True)
    decoded: dict[tuple[str, int], tuple[Path, float]] = {}
    for number, rel in enumerate(source_files(truth)):
        for page in iter_pages(corpus / rel, rel, default_dpi=DEFAULT_DPI, max_pixels=MAX_PIXELS):
            png = dest / f"f{number:04d}-p{page.index_in_file}.png"
            _save_png(page.image, png, page.dpi)
            decoded[(rel, page.index_in_file)] = (png, page.dpi)
    pages = []
    for record in truth:
        for entry in record["pages"]:
            png, dpi = decoded[(entry["file"], entry["index_in_file"])]
            pages.append(
                PageImage(record["record"], entry["file"], entry["index_in_file"], png, dpi, entry)
            )
    return pages


def _save_png(image: Any, path: Path, dpi: float) -> None:
    from PIL import Image

    # zlib level 1: the same pixels, written ~5x faster than the default level 6 (noisy
    # 300 dpi colour scans took minutes each on a loaded machine); untimed either way.
    Image.fromarray(image).save(path, dpi=(dpi, dpi), compress_level=1)


def images_to_pdf(source: Path, dest: Path, default_dpi: float = DEFAULT_DPI) -> Path:
    """All pages of an image file as one PDF (Pillow), for inputs ocrmypdf refuses."""
    from PIL import Image, ImageSequence

    with Image.open(source) as image:
        frames = [f.convert("RGB") for f in ImageSequence.Iterator(image)]
        dpi = image.info.get("dpi", (default_dpi, default_dpi))[0] or default_dpi
    frames[0].save(dest, "PDF", save_all=True, append_images=frames[1:], resolution=float(dpi))
    return dest


# --- text metrics ---------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def cer(hypothesis: str, reference: str) -> float:
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(hyp, ref) / len(ref)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


# --- commands -------------------------------------------------------------------------------


# --- peak memory per process -----------------------------------------------------------------


def status_kb(pid: int, name: str = "VmHWM") -> int:
    """A memory line of /proc/PID/status in KiB: VmHWM is the kernel's high-water mark of
    the process's resident memory, VmRSS the current value; 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


EXTERNAL_PROGRAMS = ("tesseract", "pdftoppm", "gs", "java", "qpdf")


def sohoa_role(process: psutil.Process) -> str | None:
    """Which part of a `sohoa run` tree a process is (None: not counted)."""
    name = process.name()
    if name in ("time", "sh"):
        return None
    if name in EXTERNAL_PROGRAMS:  # before the cmdline tests: their paths may say "sohoa"
        return name
    cmdline = " ".join(process.cmdline())
    if "resource_tracker" in cmdline:
        return None
    if "spawn_main" in cmdline or "forkserver" in cmdline:
        return "worker"
    if name.startswith("python") or "sohoa" in cmdline:
        return "driver"
    return name


class PeakSampler:
    """Peak RSS (VmHWM) of a process tree by role, read every `every` seconds while it runs.

    VmHWM is exact for a process sampled shortly before it exits; a process that lives less
    than `every` seconds may be missed, so short-lived children are a lower bound."""

    def __init__(self, pid: int, role: Callable[[psutil.Process], str | None], every: float):
        self.peaks_kb: dict[str, int] = {}
        self._root = pid
        self._role = role
        self._every = every
        self._stop = threading.Event()
        self._roles: dict[int, str | None] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [psutil.Process(self._root)]
                tree += tree[0].children(recursive=True)
            except psutil.Error:
                tree = []
            for process in tree:
                try:
                    if process.pid not in self._roles:
                        self._roles[process.pid] = self._role(process)
                    role = self._roles[process.pid]
                except psutil.Error:
                    continue
                if role is not None:
                    self.peaks_kb[role] = max(self.peaks_kb.get(role, 0), status_kb(process.pid))
            self._stop.wait(self._every)


@dataclass
class CommandResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float  # user+sys of this command and its reaped descendants (wait4)
    max_rss_kb: int
    peaks_kb: dict[str, int] = field(default_factory=dict)  # sampled VmHWM by role, if asked


@dataclass
class PoolRun:
    results: list[CommandResult] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # RUSAGE_CHILDREN delta around the pool
    max_rss_kb: int = 0

    def failed(self) -> list[CommandResult]:
        return [r for r in self.results if r.returncode != 0]

    def add(self, other: PoolRun) -> None:
        self.results.extend(other.results)
        self.wall_s += other.wall_s
        self.cpu_s += other.cpu_s
        self.max_rss_kb = max(self.max_rss_kb, other.max_rss_kb)


def run_command(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    roles: Callable[[psutil.Process], str | None] | None = None,
) -> CommandResult:
    """Run one command to completion; reaped with wait4 to get its own rusage.

    A child forked from this (large) Python process inherits its RSS high-water mark, so the
    peak RSS comes from GNU time (%M), which forks the command from a small process. With
    `roles`, the peak of each kind of process in the command's tree is sampled as well.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as rss,
    ):
        wrapped = [GNU_TIME, "-q", "-f", "%M", "-o", rss.name, *args]
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=out, stderr=err, env=env, cwd=cwd)
        sampler = PeakSampler(proc.pid, roles or (lambda _p: None), 0.25)
        with sampler:
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return CommandResult(
            list(args),
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            wall,
            usage.ru_utime + usage.ru_stime,
            _read_rss(rss.name),
            sampler.peaks_kb,
        )


def _read_rss(path: str) -> int:
    lines = [line for line in Path(path).read_text().splitlines() if line.strip().isdigit()]
    return int(lines[-1]) if lines else 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_pool(
    commands: Sequence[Sequence[str]],
    *,
    parallel: int = 2,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    roles: Callable[[psutil.Process], str | None] | None = None,
) -> PoolRun:
    """Run `commands`, `parallel` at a time; results in the order of `commands`."""
    cpu_before, start = _children_cpu(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        results = list(pool.map(lambda c: run_command(c, env=env, cwd=cwd, roles=roles), commands))
    return PoolRun(
        results=results,
        wall_s=time.perf_counter() - start,
        cpu_s=_children_cpu() - cpu_before,
        max_rss_kb=max((r.max_rss_kb for r in results), default=0),
    )


def tesseract_commands(pages: Sequence[PageImage], languages: str = "vie") -> list[list[str]]:
    return [["tesseract", str(p.png), "-", "-l", languages] for p in pages]


def ocrmypdf_command(
    source: Path, output: Path, image_dpi: float | None = None, languages: str = "vie"
) -> list[str]:
    args = [str(VENV_BIN / "ocrmypdf"), "-l", languages, "--deskew", "--rotate-pages"]
    args += ["--output-type", "pdfa-2", "--jobs", "1"]
    if image_dpi is not None:
        args += ["--image-dpi", str(round(image_dpi))]
    return [*args, str(source), str(output)]


def baseline_env() -> dict[str, str]:
    return clean_env(OMP_THREAD_LIMIT="1")


# --- sohoa ----------------------------------------------------------------------------------


@dataclass
class SohoaRun:
    run: CommandResult
    pool: PoolRun
    export: list[dict[str, Any]]
    init_wall_s: float
    export_wall_s: float


def run_sohoa(
    corpus: Path,
    workdir: Path,
    *,
    batch: str = "bench",
    workers: int = 2,
    extra_env: Mapping[str, str] | None = None,
) -> SohoaRun:
    """`sohoa init`, timed `sohoa run`, `sohoa export` in a fresh working/data directory.
    The run's peak RSS is sampled per role (driver, worker, tesseract, pdftoppm)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = clean_env(SOHOA_DATA_DIR=str(workdir / "data"), **(extra_env or {}))
    sohoa = str(VENV_BIN / "sohoa")
    init = run_command([sohoa, "init"], env=env, cwd=workdir)
    if init.returncode != 0:
        raise RuntimeError(f"sohoa init failed: {init.stderr.strip()}")
    args = [sohoa, "run", str(corpus), "--batch", batch, "--workers", str(workers)]
    pool = run_pool([args], parallel=1, env=env, cwd=workdir, roles=sohoa_role)
    exported = run_command([sohoa, "export", "--batch", batch], env=env, cwd=workdir)
    if exported.returncode != 0:
        raise RuntimeError(f"sohoa export failed: {exported.stderr.strip()}")
    rows = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    return SohoaRun(pool.results[0], pool, rows, init.wall_s, exported.wall_s)


# --- output ---------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.{digits}f}"
    return str(value)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or a != a or b != b:
        return None
    return a / b


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers], *[[fmt(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    line = "+".join("-" * (w + 2) for w in widths)
    print(title)
    print(line)
    for n, row in enumerate(cells):
        print(
            " | ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print(line)
    print(line)


def write_json(prefix: str, payload: Any) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), "utf-8")
    return path
