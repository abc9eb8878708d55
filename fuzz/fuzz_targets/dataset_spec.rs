//! Any UTF-8 as a dataset spec (`steward-datasets`' TOML): parsing never panics, every error
//! points at a real `file:line:column`, and a spec that loads keeps the rules the parser
//! promises (known fields only, quasi-identifiers and the sensitive attribute among them, no
//! field both, k and l at least 1, suppression in `[0, 1]`, a bias bound in `(0, 1]`, nested
//! bands). A spec that loads is then run through the anonymizer on a small fixed table of its
//! own fields, which must not panic and, when it releases rows, must confirm k.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use steward_datasets::DatasetError;
use steward_datasets::spec::{BIAS_DIMENSIONS, HierarchyRule, Spec, source_fields};
use steward_datasets::transforms::anonymize::anonymize;

/// Generalization levels a rule gives, to keep the anonymizer's lattice search small enough
/// for a fuzzer (its size is the product over quasi-identifiers).
fn levels(rule: &HierarchyRule) -> Option<usize> {
    match rule {
        HierarchyRule::Flat => Some(2),
        HierarchyRule::Top(_) => Some(3),
        HierarchyRule::Calendar => Some(5),
        HierarchyRule::Bands(w) => Some(w.len() + 2),
        // Reads a file; the fuzzer's base folder has none.
        HierarchyRule::Arx(_) => None,
    }
}

/// Forty rows over `fields`: numbers, months and categories in turn, with repeats.
fn table(fields: &[String]) -> Vec<Vec<String>> {
    (0..40usize)
        .map(|i| {
            fields
                .iter()
                .enumerate()
                .map(|(j, _)| match j % 3 {
                    0 => ((i * 7 + j) % 45).to_string(),
                    1 => format!("2025-{:02}", i % 12 + 1),
                    _ => ["a", "b", "c", "unknown"][(i + j) % 4].to_owned(),
                })
                .collect()
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let spec = match Spec::parse("fuzz.toml", text, Path::new("/nonexistent/steward-fuzz")) {
        Ok(spec) => spec,
        Err(DatasetError::Spec { location, .. }) => {
            let (file, rest) = location.split_once(':').expect("file:line:column");
            assert_eq!(file, "fuzz.toml");
            let (line, column) = rest.split_once(':').expect("line:column");
            let line: usize = line.parse().expect("a line number");
            let column: usize = column.parse().expect("a column number");
            assert!(line >= 1 && line <= text.split('\n').count(), "{location}");
            let len = text
                .split('\n')
                .nth(line - 1)
                .map_or(0, |l| l.chars().count());
            assert!(column >= 1 && column <= len + 1, "{location}");
            return;
        }
        Err(other) => panic!("a spec text failed with a non-spec error: {other}"),
    };
    let known = source_fields(spec.source);
    assert!(!spec.name.is_empty());
    assert!(spec.fields.iter().all(|f| known.contains(&f.as_str())));
    assert!(
        spec.quasi_identifiers
            .iter()
            .all(|q| spec.fields.contains(&q.field))
    );
    for (i, q) in spec.quasi_identifiers.iter().enumerate() {
        assert!(
            spec.quasi_identifiers[..i]
                .iter()
                .all(|p| p.field != q.field)
        );
        if let HierarchyRule::Bands(w) = &q.hierarchy {
            assert!(!w.is_empty() && w[0] > 0 && w.windows(2).all(|p| p[1] % p[0] == 0));
        }
        if let HierarchyRule::Top(n) = q.hierarchy {
            assert!(n >= 1);
        }
    }
    if let Some(s) = &spec.sensitive {
        assert!(spec.fields.contains(s));
        assert!(spec.quasi_identifiers.iter().all(|q| &q.field != s));
    }
    assert!(spec.text_fields.iter().all(|t| spec.fields.contains(t)));
    assert!(spec.privacy.k >= 1 && spec.privacy.l >= 1);
    assert!((0.0..=1.0).contains(&spec.privacy.max_suppression));
    assert!(spec.privacy.l == 1 || spec.sensitive.is_some());
    assert!(spec.privacy.k == 1 || !spec.quasi_identifiers.is_empty());
    assert!(spec.bias.bound > 0.0 && spec.bias.bound <= 1.0);
    assert!(
        spec.bias
            .dimensions
            .iter()
            .all(|d| BIAS_DIMENSIONS.contains(&d.as_str()))
    );

    let mut lattice = 1usize;
    for q in &spec.quasi_identifiers {
        match levels(&q.hierarchy) {
            Some(n) => lattice = lattice.saturating_mul(n),
            None => return,
        }
    }
    if lattice > 2048 {
        return;
    }
    let rows = table(&spec.fields);
    if let Ok(released) = anonymize(&spec, &spec.fields, &rows) {
        let p = &released.privacy;
        assert_eq!(released.rows.len(), released.input_rows.len());
        assert!(
            released.rows.is_empty() || p.k_confirmed >= spec.privacy.k,
            "{p:?}"
        );
    }
});
