//! Any bytes as a policy file: parsing and compiling never panic, and a policy that loads
//! keeps every built-in invariant in every cell.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use steward_core::policy::invariants;
use steward_core::{ConsentSet, Policy, Taxonomy, Visibility};

fn taxonomy() -> Arc<Taxonomy> {
    static T: OnceLock<Arc<Taxonomy>> = OnceLock::new();
    T.get_or_init(|| Arc::new(Taxonomy::builtin())).clone()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let t = taxonomy();
    if let Ok(policy) = Policy::load(t.clone(), "fuzz.toml", text) {
        for p in t.purpose_ids() {
            for c in t.category_ids() {
                for v in Visibility::ALL {
                    if let Some(form) = policy.decide(p, c, v, ConsentSet::ALL).form() {
                        assert!(invariants::violated(&t, p, c, v, form).is_none());
                    }
                }
            }
        }
    }
});
