//! Keyed pseudonyms: HMAC-SHA-256 of an identifier under a per-release key.
