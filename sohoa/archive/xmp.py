"""The XMP packet of an archived record: PDF/A identification, Dublin Core, and sohoa's
own record fields in a namespace declared by a PDF/A extension schema (ISO 19005-2 6.6.2.3),
so that validators accept it and any XMP reader can list what the fields mean."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

SOHOA_NS = "http://sohoa.example.org/ns/record/1.0/"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
    "sohoa": SOHOA_NS,
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

# sohoa's own properties: name -> description (all Text, internal category).
SOHOA_PROPERTIES: dict[str, str] = {
    "RecordId": "Stable identifier of the record in the sohoa database",
    "Batch": "Name of the digitization batch",
    "SourcePath": "Path of the scanned source relative to the batch folder",
    "SourceSha256": "SHA-256 over the source files' hashes, in page order",
    "Procedure": "Key of the administrative procedure in the catalogue",
    "ProcedureCode": "National administrative procedure code, e.g. 1.001193",
    "ProcedureName": "Vietnamese name of the administrative procedure",
    "PageTotal": "Number of pages (Tong so trang)",
    "DigitizedAt": "Time of digitization, ISO 8601",
    "OcrEngine": "OCR engine, version and languages",
}


@dataclass(frozen=True)
class RecordMetadata:
    record_id: str
    batch: str
    source_path: str
    source_sha256: str
    title: str
    procedure: str
    procedure_code: str | None
    procedure_name: str
    language: str  # BCP 47, e.g. "vi"
    agency: str
    page_total: int
    digitized_at: datetime  # timezone-aware
    ocr_engine: str
    producer: str  # e.g. "sohoa 0.1.0"


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _lang_alt(parent: ET.Element, tag: str, text: str) -> None:
    alt = ET.SubElement(ET.SubElement(parent, tag), _q("rdf", "Alt"))
    ET.SubElement(
        alt, _q("rdf", "li"), {"{http://www.w3.org/XML/1998/namespace}lang": "x-default"}
    ).text = text


def _container(parent: ET.Element, tag: str, kind: str, items: list[str]) -> None:
    box = ET.SubElement(ET.SubElement(parent, tag), _q("rdf", kind))
    for item in items:
        ET.SubElement(box, _q("rdf", "li")).text = item


def _extension_schema(description: ET.Element) -> None:
    schemas = ET.SubElement(
        ET.SubElement(description, _q("pdfaExtension", "schemas")), _q("rdf", "Bag")
    )
    schema = ET.SubElement(schemas, _q("rdf", "li"), {_q("rdf", "parseType"): "Resource"})
    ET.SubElement(schema, _q("pdfaSchema", "schema")).text = "sohoa digitized record"
    ET.SubElement(schema, _q("pdfaSchema", "namespaceURI")).text = SOHOA_NS
    ET.SubElement(schema, _q("pdfaSchema", "prefix")).text = "sohoa"
    props = ET.SubElement(ET.SubElement(schema, _q("pdfaSchema", "property")), _q("rdf", "Seq"))
    for name, text in SOHOA_PROPERTIES.items():
        prop = ET.SubElement(props, _q("rdf", "li"), {_q("rdf", "parseType"): "Resource"})
        ET.SubElement(prop, _q("pdfaProperty", "name")).text = name
        ET.SubElement(prop, _q("pdfaProperty", "valueType")).text = "Text"
        ET.SubElement(prop, _q("pdfaProperty", "category")).text = "internal"
        ET.SubElement(prop, _q("pdfaProperty", "description")).text = text


def build_xmp(meta: RecordMetadata) -> bytes:
    """A complete XMP packet (UTF-8) for a PDF/A-2b record file."""
    when = meta.digitized_at.isoformat(timespec="seconds")
    root = ET.Element(_q("x", "xmpmeta"))
    rdf = ET.SubElement(root, _q("rdf", "RDF"))
    desc = ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    ET.SubElement(desc, _q("pdfaid", "part")).text = "2"
    ET.SubElement(desc, _q("pdfaid", "conformance")).text = "B"
    _lang_alt(desc, _q("dc", "title"), meta.title)
    _lang_alt(
        desc,
        _q("dc", "description"),
        f"{meta.procedure_name} ({meta.procedure_code or meta.procedure})",
    )
    _container(desc, _q("dc", "language"), "Bag", [meta.language])
    _container(desc, _q("dc", "publisher"), "Bag", [meta.agency])
    _container(
        desc, _q("dc", "subject"), "Bag", [s for s in (meta.procedure, meta.procedure_code) if s]
    )
    ET.SubElement(desc, _q("dc", "identifier")).text = meta.record_id
    ET.SubElement(desc, _q("dc", "source")).text = f"sha256:{meta.source_sha256}"
    ET.SubElement(desc, _q("dc", "format")).text = "application/pdf"
    for tag in ("CreateDate", "ModifyDate", "MetadataDate"):
        ET.SubElement(desc, _q("xmp", tag)).text = when
    ET.SubElement(desc, _q("xmp", "CreatorTool")).text = meta.producer
    ET.SubElement(desc, _q("pdf", "Producer")).text = meta.producer
    values = {
        "RecordId": meta.record_id,
        "Batch": meta.batch,
        "SourcePath": meta.source_path,
        "SourceSha256": meta.source_sha256,
        "Procedure": meta.procedure,
        "ProcedureCode": meta.procedure_code or "",
        "ProcedureName": meta.procedure_name,
        "PageTotal": str(meta.page_total),
        "DigitizedAt": when,
        "OcrEngine": meta.ocr_engine,
    }
    for name, value in values.items():
        ET.SubElement(desc, _q("sohoa", name)).text = value
    _extension_schema(desc)
    body = ET.tostring(root, encoding="unicode")
    packet = (
        f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n{body}\n<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


def read_sohoa_fields(xmp: bytes) -> dict[str, str]:
    """The sohoa:* fields of an XMP packet, whether written as elements (as `build_xmp`
    does) or as attributes of rdf:Description (as pyHanko re-serialises them on signing)."""
    root = ET.fromstring(xmp.decode("utf-8").split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
    found: dict[str, str] = {}
    for description in root.iter(_q("rdf", "Description")):
        for name in SOHOA_PROPERTIES:
            if _q("sohoa", name) in description.attrib:
                found[name] = description.attrib[_q("sohoa", name)]
    for name in SOHOA_PROPERTIES:
        element = root.find(f".//{_q('sohoa', name)}")
        if element is not None:
            found[name] = element.text or ""
    return found
