"""Archive: PDF/A-2b assembly with an invisible text layer, PAdES signing, verification."""

from sohoa.archive.dossier import (
    Dossier,
    DossierDefaults,
    RecordFacts,
    RecordMetadata,
    RegisterEntry,
    archive_file_name,
    record_metadata,
)
from sohoa.archive.keys import TEST_SUBJECT_CN, TestIdentity, create_test_identity
from sohoa.archive.pdfa import (
    ArchivePage,
    build_pdfa,
    encode_page,
    original_revision,
    with_metadata,
)
from sohoa.archive.sign import LEVELS, PassphraseRef, SignerSpec, check_spec, load_signer, sign_pdf
from sohoa.archive.verify import (
    PdfaCheck,
    SignatureCheck,
    check_pdfa,
    file_problems,
    signature_problems,
    verify_signatures,
)
from sohoa.archive.xmp import build_xmp, read_sohoa_fields

__all__ = [
    "LEVELS",
    "TEST_SUBJECT_CN",
    "ArchivePage",
    "Dossier",
    "DossierDefaults",
    "PassphraseRef",
    "PdfaCheck",
    "RecordFacts",
    "RecordMetadata",
    "RegisterEntry",
    "SignatureCheck",
    "SignerSpec",
    "TestIdentity",
    "archive_file_name",
    "build_pdfa",
    "build_xmp",
    "check_pdfa",
    "check_spec",
    "create_test_identity",
    "encode_page",
    "file_problems",
    "load_signer",
    "original_revision",
    "read_sohoa_fields",
    "record_metadata",
    "sign_pdf",
    "signature_problems",
    "verify_signatures",
    "with_metadata",
]
