//! k-anonymity, l-diversity, t-closeness, generalization hierarchies and risk metrics.
