"""XML Schema validation of the METS documents, with schemas shipped by installed packages,
never fetched: METS 1.x from metsrw, XLink from xmlschema (and xml.xsd, which it imports).

METS imports the Library of Congress's XLink schema, whose attribute groups are named
simpleLink, locatorLink...; xmlschema ships the W3C XLink 1.1 schema, which names the same
attributes simpleAttrs, locatorAttrs... A small schema of our own (XLINK_NAMES) includes
W3C's and gives its groups the names METS refers to.

No registry package reachable here ships the PREMIS 3 schema, so the PREMIS inside each
METS document (xmlData is checked laxly) is not validated against an XSD.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from lxml import etree

METS_NS = "http://www.loc.gov/METS/"
XLINK_NS = "http://www.w3.org/1999/xlink"
METS_XSD_URL = "http://www.loc.gov/standards/mets/mets.xsd"
LOC_XLINK_URL = "http://www.loc.gov/standards/xlink/xlink.xsd"
W3C_XLINK_URL = "http://www.w3.org/1999/xlink.xsd"
XML_XSD_URL = "http://www.w3.org/2001/xml.xsd"
XLINK_NAMES = f"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xlink="{XLINK_NS}"
           targetNamespace="{XLINK_NS}">
  <xs:include schemaLocation="{W3C_XLINK_URL}"/>
  <xs:attributeGroup name="simpleLink"><xs:attributeGroup ref="xlink:simpleAttrs"/>
  </xs:attributeGroup>
  <xs:attributeGroup name="extendedLink"><xs:attributeGroup ref="xlink:extendedAttrs"/>
  </xs:attributeGroup>
  <xs:attributeGroup name="locatorLink"><xs:attributeGroup ref="xlink:locatorAttrs"/>
  </xs:attributeGroup>
  <xs:attributeGroup name="arcLink"><xs:attributeGroup ref="xlink:arcAttrs"/>
  </xs:attributeGroup>
</xs:schema>
"""


def _packaged(package: str, *parts: str) -> str:
    return str(Path(str(files(package).joinpath(*parts))))


class _LocalSchemas(etree.Resolver):
    """Answers the schema addresses the XSDs import with the installed files."""

    def resolve(self, url: str | None, pubid: str | None, context: object) -> object:
        if url == LOC_XLINK_URL:
            return self.resolve_string(XLINK_NAMES, context)
        local = {
            W3C_XLINK_URL: _packaged("xmlschema", "schemas", "XLINK", "xlink.xsd"),
            XML_XSD_URL: _packaged("xmlschema", "schemas", "XML", "xml.xsd"),
        }.get(url or "")
        return self.resolve_filename(local, context) if local else None


@cache
def mets_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalSchemas())
    document = etree.parse(_packaged("metsrw", "resources", "mets.xsd"), parser)
    return etree.XMLSchema(document)


def _parse(path: Path) -> etree._ElementTree | str:
    """The parsed document, or why it could not be read."""
    try:
        return etree.parse(str(path), etree.XMLParser(no_network=True, resolve_entities=False))
    except (OSError, etree.XMLSyntaxError) as exc:
        return f"{path.name}: not readable XML: {exc}"


def xml_problems(path: Path) -> list[str]:
    """Whether the file is there and well-formed XML."""
    document = _parse(path)
    return [document] if isinstance(document, str) else []


def mets_problems(path: Path) -> list[str]:
    """Why the file is not a METS document valid against the METS schema; [] if it is."""
    document = _parse(path)
    if isinstance(document, str):
        return [document]
    schema = mets_schema()
    if schema.validate(document):
        return []
    return [f"{path.name} line {e.line}: {e.message}" for e in schema.error_log]
