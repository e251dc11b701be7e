"""The XMP packet of an archived record: PDF/A identification, Dublin Core, and sohoa's
own record fields in a namespace declared by a PDF/A extension schema (ISO 19005-2 6.6.2.3),
so that validators accept it and any XMP reader can list what the fields mean."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from sohoa.archive.dossier import RecordMetadata

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

# sohoa's own properties: name -> (XMP value type, description). The NĐ 30/2020 Phụ lục VI
# dossier fields with no standard XMP home are here; Title, Creator, Language, Rights and
# Description go to dc:title, dc:creator, dc:language, dc:rights and dc:description, and
# StartDate/EndDate also to dc:date.
SOHOA_PROPERTIES: dict[str, tuple[str, str]] = {
    "RecordId": ("Text", "Stable identifier of the record in the sohoa database"),
    "Batch": ("Text", "Name of the digitization batch"),
    "SourcePath": ("Text", "Path of the scanned source relative to the batch folder"),
    "SourceSha256": ("Text", "SHA-256 over the source files' hashes, in page order"),
    "Procedure": ("Text", "Key of the administrative procedure in the catalogue"),
    "ProcedureCode": ("Text", "National administrative procedure code, e.g. 1.001193"),
    "ProcedureName": ("Text", "Vietnamese name of the administrative procedure"),
    "PageTotal": ("Integer", "Number of pages (Tong so trang, ND 30/2020 PageTotal)"),
    "DigitizedAt": ("Date", "Time of digitization, ISO 8601"),
    "OcrEngine": ("Text", "OCR engine, version and languages"),
    "FileCode": ("Text", "Dossier code (Ma ho so, ND 30/2020 FileCode) from the paper register"),
    "OrderNumber": ("Integer", "Order number of this file under its dossier code"),
    "Maintenance": ("Text", "Retention period (Thoi han bao quan, ND 30/2020 Maintenance)"),
    "StartDate": ("Date", "Earliest document date (Thoi gian bat dau, ND 30/2020 StartDate)"),
    "EndDate": ("Date", "Latest document date (Thoi gian ket thuc, ND 30/2020 EndDate)"),
    "DocTotal": ("Integer", "Number of documents (Tong so van ban, ND 30/2020 DocTotal)"),
    "DocNumbers": ("Text", "Document numbers in the text, e.g. 15/QD-UBND; semicolon-separated"),
    "Organ": ("Text", "Organ or unit that made the dossier, from the paper register"),
}


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
    for name, (value_type, text) in SOHOA_PROPERTIES.items():
        prop = ET.SubElement(props, _q("rdf", "li"), {_q("rdf", "parseType"): "Resource"})
        ET.SubElement(prop, _q("pdfaProperty", "name")).text = name
        ET.SubElement(prop, _q("pdfaProperty", "valueType")).text = value_type
        ET.SubElement(prop, _q("pdfaProperty", "category")).text = "internal"
        ET.SubElement(prop, _q("pdfaProperty", "description")).text = text


def _keywords(meta: RecordMetadata) -> str:
    dossier, facts = meta.dossier, meta.facts
    words = [facts.procedure_name, facts.procedure_code, dossier.file_code, *dossier.doc_numbers]
    return "; ".join(word for word in words if word)


def _sohoa_values(meta: RecordMetadata, when: str) -> dict[str, str]:
    dossier, facts = meta.dossier, meta.facts
    values = {
        "RecordId": facts.record_id,
        "Batch": facts.batch,
        "SourcePath": facts.source_path,
        "SourceSha256": facts.source_sha256,
        "Procedure": facts.procedure,
        "ProcedureCode": facts.procedure_code,
        "ProcedureName": facts.procedure_name,
        "PageTotal": dossier.page_total,
        "DigitizedAt": when,
        "OcrEngine": facts.ocr_engine,
        "FileCode": dossier.file_code,
        "OrderNumber": dossier.order_number,
        "Maintenance": dossier.maintenance,
        "StartDate": dossier.start_date,
        "EndDate": dossier.end_date,
        "DocTotal": dossier.doc_total,
        "DocNumbers": "; ".join(dossier.doc_numbers),
        "Organ": dossier.organ,
    }
    # An empty Integer or Date is not a valid value: absent fields are left out.
    return {name: str(value) for name, value in values.items() if value not in (None, "")}


def build_xmp(meta: RecordMetadata) -> bytes:
    """A complete XMP packet (UTF-8) for a PDF/A-2b record file."""
    dossier, facts = meta.dossier, meta.facts
    when = facts.digitized_at.isoformat(timespec="seconds")
    changed = (meta.metadata_date or facts.digitized_at).isoformat(timespec="seconds")
    root = ET.Element(_q("x", "xmpmeta"))
    rdf = ET.SubElement(root, _q("rdf", "RDF"))
    desc = ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    ET.SubElement(desc, _q("pdfaid", "part")).text = "2"
    ET.SubElement(desc, _q("pdfaid", "conformance")).text = "B"
    _lang_alt(desc, _q("dc", "title"), dossier.title)
    _lang_alt(desc, _q("dc", "description"), dossier.description)
    if dossier.creator:
        _container(desc, _q("dc", "creator"), "Seq", [dossier.creator])
    if dossier.rights:
        _lang_alt(desc, _q("dc", "rights"), dossier.rights)
    dates = list(dict.fromkeys(d for d in (dossier.start_date, dossier.end_date) if d))
    if dates:
        _container(desc, _q("dc", "date"), "Seq", dates)
    _container(desc, _q("dc", "language"), "Bag", [dossier.language])
    _container(desc, _q("dc", "publisher"), "Bag", [meta.agency])
    _container(
        desc, _q("dc", "subject"), "Bag", [s for s in (facts.procedure, facts.procedure_code) if s]
    )
    ET.SubElement(desc, _q("dc", "identifier")).text = facts.record_id
    ET.SubElement(desc, _q("dc", "source")).text = f"sha256:{facts.source_sha256}"
    ET.SubElement(desc, _q("dc", "format")).text = "application/pdf"
    ET.SubElement(desc, _q("xmp", "CreateDate")).text = when
    ET.SubElement(desc, _q("xmp", "ModifyDate")).text = changed
    ET.SubElement(desc, _q("xmp", "MetadataDate")).text = changed
    ET.SubElement(desc, _q("xmp", "CreatorTool")).text = meta.producer
    ET.SubElement(desc, _q("pdf", "Producer")).text = meta.producer
    ET.SubElement(desc, _q("pdf", "Keywords")).text = _keywords(meta)
    for name, value in _sohoa_values(meta, when).items():
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
