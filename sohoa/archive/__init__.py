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
from sohoa.archive.keys import (
    TEST_SUBJECT_CN,
    TestIdentity,
    create_test_identity,
    is_test_certificate,
)
from sohoa.archive.pdfa import (
    ArchivePage,
    build_pdfa,
    encode_page,
    original_revision,
    with_metadata,
)
from sohoa.archive.renew import TimestampChain, renew_timestamp, timestamp_chain
from sohoa.archive.service import ServiceAddress, SigningService, signing_service
from sohoa.archive.sign import (
    LEVELS,
    PassphraseRef,
    SignerSpec,
    check_spec,
    identity_notes,
    load_signer,
    sign_pdf,
    signer_facts,
)
from sohoa.archive.token import TokenSpec
from sohoa.archive.verify import (
    PdfaCheck,
    SignatureCheck,
    check_file,
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
    "ServiceAddress",
    "SignatureCheck",
    "SignerSpec",
    "SigningService",
    "TestIdentity",
    "TimestampChain",
    "TokenSpec",
    "archive_file_name",
    "build_pdfa",
    "build_xmp",
    "check_file",
    "check_pdfa",
    "check_spec",
    "create_test_identity",
    "encode_page",
    "file_problems",
    "identity_notes",
    "is_test_certificate",
    "load_signer",
    "original_revision",
    "read_sohoa_fields",
    "record_metadata",
    "renew_timestamp",
    "sign_pdf",
    "signature_problems",
    "signer_facts",
    "signing_service",
    "timestamp_chain",
    "verify_signatures",
    "with_metadata",
]
