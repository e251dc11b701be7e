"""tesseract in this process, through the C API of Debian's libtesseract (ctypes).

Running the `tesseract` program once per page cost a process start, loading the language
model again, and writing the page image, a PDF, a TSV and a text file to disk and reading
them back. Here one engine per (thread, languages) stays loaded, the grey page is handed over
as a buffer, and text, words and the text-only PDF page come from the same recognition.

Only the stable C API (tesseract/capi.h, unchanged since 4.0) is used, from the library the
`tesseract-ocr` package itself runs on, so the recorded `tesseract --version` is the engine
that read the page.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import functools
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sohoa.errors import SohoaError
from sohoa.threads import cap_openmp

LIBRARY = "libtesseract.so.5"
PSM_AUTO = 3  # the tesseract program's default page segmentation; the API's is single block
# GetTsvText gives the rows without the header line the TSV renderer writes first.
TSV_HEADER = ("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\t"
              "left\ttop\twidth\theight\tconf\ttext\n")  # fmt: skip

_api = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[type | None, list[type]]] = {
    "TessVersion": (ctypes.c_char_p, []),
    "TessBaseAPICreate": (_api, []),
    "TessBaseAPIDelete": (None, [_api]),
    "TessBaseAPIInit3": (ctypes.c_int, [_api, ctypes.c_char_p, ctypes.c_char_p]),
    "TessBaseAPISetPageSegMode": (None, [_api, ctypes.c_int]),
    "TessBaseAPISetVariable": (ctypes.c_int, [_api, ctypes.c_char_p, ctypes.c_char_p]),
    "TessBaseAPIGetDatapath": (ctypes.c_char_p, [_api]),
    "TessBaseAPISetImage": (
        None,
        [_api, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int],
    ),
    "TessBaseAPISetSourceResolution": (None, [_api, ctypes.c_int]),
    "TessBaseAPIRecognize": (ctypes.c_int, [_api, ctypes.c_void_p]),
    "TessBaseAPIGetUTF8Text": (ctypes.c_void_p, [_api]),
    "TessBaseAPIGetTsvText": (ctypes.c_void_p, [_api, ctypes.c_int]),
    "TessBaseAPIClear": (None, [_api]),
    "TessDeleteText": (None, [ctypes.c_void_p]),
    "TessMonitorCreate": (ctypes.c_void_p, []),
    "TessMonitorDelete": (None, [ctypes.c_void_p]),
    "TessMonitorSetDeadlineMSecs": (None, [ctypes.c_void_p, ctypes.c_int]),
    "TessPDFRendererCreate": (ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]),
    "TessResultRendererBeginDocument": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
    "TessResultRendererAddImage": (ctypes.c_int, [ctypes.c_void_p, _api]),
    "TessResultRendererEndDocument": (ctypes.c_int, [ctypes.c_void_p]),
    "TessDeleteResultRenderer": (None, [ctypes.c_void_p]),
}


class Timeout(Exception):
    """Recognition passed its deadline and was stopped."""


@dataclass(frozen=True)
class Reading:
    text: str  # as tesseract gives it (not yet NFC)
    tsv: str  # with its header line
    text_pdf: bytes  # one page, invisible text only, sized to the image at its dpi


@functools.cache
def library() -> ctypes.CDLL:
    cap_openmp()  # before libgomp is loaded with libtesseract: it reads the cap only then
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("tesseract") or LIBRARY)
    except OSError as exc:
        raise SohoaError(
            f"{LIBRARY} cannot be loaded ({exc}): run 'make system-deps' (package libtesseract5)"
        ) from exc
    for name, (restype, argtypes) in _SIGNATURES.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


def library_version() -> str:
    return library().TessVersion().decode()


def _take_text(lib: ctypes.CDLL, pointer: int | None) -> str:
    if not pointer:
        return ""
    try:
        return ctypes.string_at(pointer).decode("utf-8", "replace")
    finally:
        lib.TessDeleteText(pointer)


class Engine:
    """One loaded model for one language set; used by one thread at a time."""

    def __init__(self, languages: str) -> None:
        self.lib = library()
        self.handle = self.lib.TessBaseAPICreate()
        if self.lib.TessBaseAPIInit3(self.handle, None, languages.encode()) != 0:
            self.lib.TessBaseAPIDelete(self.handle)
            raise SohoaError(f"tesseract could not load the language(s) {languages}")
        self.lib.TessBaseAPISetPageSegMode(self.handle, PSM_AUTO)
        # tesseract's progress notes ("Detected 184 diacritics") would fill the worker's log;
        # failures are reported through the API's return values instead.
        self.lib.TessBaseAPISetVariable(self.handle, b"debug_file", b"/dev/null")
        self.datapath = self.lib.TessBaseAPIGetDatapath(self.handle)

    def read(self, gray: np.ndarray, dpi: int, timeout_s: float, pdf_base: Path) -> Reading:
        """Recognise one grey page; the text-only PDF page goes through `pdf_base`.pdf (the
        C API's PDF renderer writes only to a file)."""
        lib, handle = self.lib, self.handle
        gray = np.ascontiguousarray(gray, dtype=np.uint8)
        height, width = gray.shape
        lib.TessBaseAPISetVariable(handle, b"user_defined_dpi", str(dpi).encode())
        lib.TessBaseAPISetImage(handle, gray.ctypes.data, width, height, 1, gray.strides[0])
        lib.TessBaseAPISetSourceResolution(handle, dpi)
        monitor = lib.TessMonitorCreate()
        try:
            lib.TessMonitorSetDeadlineMSecs(monitor, max(1, int(timeout_s * 1000)))
            started = time.monotonic()
            status = lib.TessBaseAPIRecognize(handle, monitor)
            if status != 0:
                lib.TessBaseAPIClear(handle)
                if time.monotonic() - started >= timeout_s * 0.99:
                    raise Timeout()
                raise SohoaError(f"tesseract could not recognise the page (status {status})")
            text = _take_text(lib, lib.TessBaseAPIGetUTF8Text(handle))
            tsv = TSV_HEADER + _take_text(lib, lib.TessBaseAPIGetTsvText(handle, 0))
            text_pdf = self._text_pdf(pdf_base)
        finally:
            lib.TessMonitorDelete(monitor)
        lib.TessBaseAPIClear(handle)
        return Reading(text, tsv, text_pdf)

    def _text_pdf(self, base: Path) -> bytes:
        lib = self.lib
        renderer = lib.TessPDFRendererCreate(str(base).encode(), self.datapath, 1)
        try:
            ok = (
                lib.TessResultRendererBeginDocument(renderer, b"")
                and lib.TessResultRendererAddImage(renderer, self.handle)
                and lib.TessResultRendererEndDocument(renderer)
            )
        finally:
            lib.TessDeleteResultRenderer(renderer)
        if not ok:
            raise SohoaError("tesseract could not write the page's text layer")
        return base.with_suffix(".pdf").read_bytes()


_local = threading.local()
_loaded: list[Engine] = []


@atexit.register
def _unload() -> None:
    # Freed before the library's own caches are torn down, which otherwise report each
    # model file still referenced as a leak on stderr.
    while _loaded:
        engine = _loaded.pop()
        engine.lib.TessBaseAPIDelete(engine.handle)


def engine(languages: str) -> Engine:
    """This thread's engine for `languages`, loaded on first use and kept: loading the
    Vietnamese model costs about as much as reading a page."""
    engines: dict[str, Engine] = _local.__dict__.setdefault("engines", {})
    if languages not in engines:
        engines[languages] = Engine(languages)
        _loaded.append(engines[languages])
    return engines[languages]
