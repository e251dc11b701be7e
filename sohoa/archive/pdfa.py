"""PDF/A-2b assembly: each page is the scan image with tesseract's invisible text on top."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import cv2
import numpy as np
import pikepdf
from pikepdf import Array, Dictionary, Name
from PIL import ImageCms

from sohoa.archive.dossier import RecordMetadata
from sohoa.archive.xmp import build_xmp


@dataclass(frozen=True)
class ArchivePage:
    """One page ready for the PDF: encoded at once, so a long record holds no raw images."""

    jpeg: bytes  # RGB baseline JPEG of the upright, deskewed page
    width: int
    height: int
    dpi: float
    text_pdf: bytes  # one-page text-only PDF at the same size (tesseract textonly_pdf)


def encode_page(image: np.ndarray, dpi: float, text_pdf: bytes, *, quality: int) -> ArchivePage:
    """Encode a page image (RGB uint8) for the archive copy; colour is kept."""
    ok, encoded = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding of a page image failed")
    height, width = image.shape[:2]
    return ArchivePage(encoded.tobytes(), width, height, dpi, text_pdf)


def _srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _image_page(pdf: pikepdf.Pdf, page: ArchivePage) -> pikepdf.Page:
    width_pt, height_pt = page.width * 72 / page.dpi, page.height * 72 / page.dpi
    image = pikepdf.Stream(
        pdf,
        page.jpeg,
        Type=Name.XObject,
        Subtype=Name.Image,
        Width=page.width,
        Height=page.height,
        ColorSpace=Name.DeviceRGB,
        BitsPerComponent=8,
        Filter=Name.DCTDecode,
    )
    draw = f"q {width_pt:.4f} 0 0 {height_pt:.4f} 0 0 cm /Im0 Do Q".encode()
    return pikepdf.Page(
        Dictionary(
            Type=Name.Page,
            MediaBox=[0, 0, width_pt, height_pt],
            Resources=Dictionary(XObject=Dictionary(Im0=image)),
            Contents=pikepdf.Stream(pdf, draw),
        )
    )


def build_pdfa(pages: list[ArchivePage], meta: RecordMetadata) -> bytes:
    """One PDF/A-2b document: sRGB output intent, XMP with the record's metadata."""
    pdf = pikepdf.new()
    for page in pages:
        pdf.pages.append(_image_page(pdf, page))
        with pikepdf.open(io.BytesIO(page.text_pdf)) as text_layer:
            pdf.pages[-1].add_overlay(text_layer.pages[0])
    pdf.Root.OutputIntents = Array(
        [
            Dictionary(
                Type=Name.OutputIntent,
                S=Name.GTS_PDFA1,
                OutputConditionIdentifier="sRGB IEC61966-2.1",
                Info="sRGB IEC61966-2.1",
                DestOutputProfile=pikepdf.Stream(pdf, _srgb_profile(), N=3),
            )
        ]
    )
    return _save_with_metadata(pdf, meta)


def _save_with_metadata(pdf: pikepdf.Pdf, meta: RecordMetadata) -> bytes:
    # PDF/A: the metadata stream stays uncompressed, so that any tool can read it.
    pdf.Root.Metadata = pikepdf.Stream(pdf, build_xmp(meta), Type=Name.Metadata, Subtype=Name.XML)
    out = io.BytesIO()
    pdf.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return out.getvalue()


# The end of a revision as pikepdf writes it: "startxref", the offset of its xref table, %%EOF.
_REVISION_END = re.compile(rb"startxref\s+(\d+)\s+%%EOF\r?\n?")


def original_revision(signed: bytes) -> bytes:
    """The file as `build_pdfa` wrote it: signing only appends incremental updates (the
    signature, validation data, document timestamps), so it is the first revision."""
    for match in _REVISION_END.finditer(signed):
        if not signed.startswith(b"xref", int(match[1])):
            continue  # the same bytes by chance inside a compressed stream
        if match.end() == len(signed):
            raise ValueError("the file has a single revision: it was never signed")
        return signed[: match.end()]
    raise ValueError("no complete first revision found")


def with_metadata(original: bytes, meta: RecordMetadata) -> bytes:
    """The same PDF/A pages with a new XMP packet: for metadata learnt after archiving (the
    paper register), without OCR again. The result is unsigned: sign it again."""
    with pikepdf.open(io.BytesIO(original)) as pdf:
        return _save_with_metadata(pdf, meta)
