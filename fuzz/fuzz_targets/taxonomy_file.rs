//! Any bytes as a taxonomy extension: never a panic, and an accepted extension never turns
//! private content or sensitive data into ordinary data.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use steward_core::{Taxonomy, Visibility};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    static BASE: OnceLock<Taxonomy> = OnceLock::new();
    let base = BASE.get_or_init(Taxonomy::builtin);
    if let Ok(extended) = base.extend("fuzz.toml", text) {
        for c in base.category_ids() {
            let name = base.category_name(c);
            let Some(after) = extended.category_id(name) else {
                panic!("`{name}` vanished")
            };
            assert!(
                !base.is_private_content(c, Visibility::Public)
                    || extended.is_private_content(after, Visibility::Public)
            );
            assert!(!base.is_sensitive(c) || extended.is_sensitive(after));
        }
    }
});
