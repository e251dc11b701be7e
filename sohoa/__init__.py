"""sohoa: scans of paper administrative records in, signed PDF/A and a records database out."""

__version__ = "0.1.0"
