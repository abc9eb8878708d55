//! Any bytes as a JSON-lines import file (`steward import`): the first line names the table
//! (`members`, `posts`, ...), the rest is the file. The import runs against an in-memory
//! SQLite store that holds the test suite's valid import (`steward-store/tests/data/ok`), so
//! references can resolve. The import must not panic; a file it accepts adds exactly its
//! non-blank lines (as new or updated rows); a file it refuses leaves the table as it was
//! (all or nothing) and is refused as the input's fault at a line that exists, naming the
//! line rather than surfacing a database constraint.
#![no_main]

use std::cell::RefCell;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use steward_core::Taxonomy;
use steward_store::import::{ImportContext, ImportError, import_bytes_in, import_path};
use steward_store::schema::TABLES;
use steward_store::{PlaintextForTestsOnly, Store};

/// Rows a fuzzing process may add before the store is rebuilt (counts get slower as it grows).
const REBUILD_AFTER_ROWS: u64 = 20_000;

struct Fixture {
    store: Store,
    added: u64,
}

fn fresh() -> Fixture {
    let store = Store::open("sqlite::memory:").expect("an in-memory store opens");
    let ok = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/steward-store/tests/data/ok");
    import_path(&store, &ok, &PlaintextForTestsOnly).expect("the test suite's valid import");
    Fixture { store, added: 0 }
}

thread_local! {
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

fn taxonomy() -> &'static Taxonomy {
    static T: std::sync::OnceLock<Taxonomy> = std::sync::OnceLock::new();
    T.get_or_init(Taxonomy::builtin)
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .read(|tx| tx.query_i64(&format!("SELECT COUNT(*) FROM {table}"), &[]))
        .expect("a count")
}

fuzz_target!(|data: &[u8]| {
    let Some(nl) = data.iter().position(|b| *b == b'\n') else {
        return;
    };
    let Ok(name) = std::str::from_utf8(&data[..nl]) else {
        return;
    };
    let Some(table) = TABLES.iter().find(|t| t.name == name.trim()) else {
        return;
    };
    let body = &data[nl + 1..];
    FIXTURE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|f| f.added > REBUILD_AFTER_ROWS) {
            *slot = Some(fresh());
        }
        let Some(fx) = slot.as_mut() else { return };
        let before = count(&fx.store, table.name);
        let ctx = ImportContext {
            sealer: &PlaintextForTestsOnly,
            taxonomy: taxonomy(),
            at_ms: 1_767_000_000_000,
        };
        let result = import_bytes_in(&fx.store, table, "fuzz.jsonl", body, &ctx);
        let after = count(&fx.store, table.name);
        let lines = body.split(|b| *b == b'\n').count();
        match result {
            Ok(report) => {
                let text = std::str::from_utf8(body).expect("an accepted file is UTF-8");
                let nonblank = text.split('\n').filter(|l| !l.trim().is_empty()).count();
                assert_eq!(report.rows, nonblank as u64, "rows written vs. lines");
                assert!(report.new_rows <= report.rows);
                assert_eq!(
                    after - before,
                    report.new_rows as i64,
                    "new rows vs. the count"
                );
                fx.added += report.new_rows;
            }
            Err(e) => {
                assert_eq!(
                    after, before,
                    "a refused file changed `{}`: {e}",
                    table.name
                );
                assert!(
                    e.is_bad_input(),
                    "bad input reported as a system fault: {e:?}"
                );
                match &e {
                    ImportError::Line { line, .. } => {
                        assert!(*line >= 1 && *line <= lines, "line {line} of {lines}: {e}");
                    }
                    other => panic!("refused without naming a line: {other:?}"),
                }
            }
        }
    });
});
