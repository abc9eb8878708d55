//! Ingest-time scanners that see plaintext only as an argument and return a Verdict
