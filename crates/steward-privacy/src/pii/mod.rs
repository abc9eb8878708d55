//! PII detection and scrubbing in free text.
