//! PII detection and scrubbing, pseudonyms, generalization, k-anonymity, l-diversity, t-closeness, risk metrics
