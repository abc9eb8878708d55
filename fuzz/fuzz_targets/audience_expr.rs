//! Any UTF-8 through the audience-expression parser: no panic, every error carries a stable
//! code and a column inside the text (or just past its end), and an accepted expression's
//! canonical text parses back to the same expression with the same canonical text — the
//! canonical form is what the consistent noise is keyed on and what is stored, so a canonical
//! text that did not parse back would make a saved audience unreadable. (The fuzzer's first
//! finding: a quoted value spelled like a keyword, `"and"`, was written back unquoted.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_ads::Expr;
use steward_ads::error::AdsError;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let chars = text.chars().count();
    match Expr::parse(text) {
        Err(e) => {
            assert!(e.code().starts_with("ads."), "{e:?}");
            if let AdsError::Parse { column, .. } | AdsError::UnknownAttribute { column, .. } = e {
                assert!(column >= 1 && column <= chars + 1, "column {column} of {chars}");
            }
        }
        Ok(expr) => {
            assert!(!expr.clauses.is_empty());
            let canonical = expr.canonical();
            // The length limit applies to the canonical text too; a long input's canonical
            // form (`= v` becomes `in (v)`) may exceed it.
            if canonical.chars().count() < 4000 {
                let again = Expr::parse(&canonical)
                    .unwrap_or_else(|e| panic!("canonical {canonical:?} does not parse: {e}"));
                assert_eq!(again, expr, "{canonical:?}");
                assert_eq!(again.canonical(), canonical);
            }
        }
    }
});
