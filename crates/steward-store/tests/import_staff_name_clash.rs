//! Fuzz finding (`fuzz/fuzz_targets/import_line.rs`): a `staff` line giving a new staff id a
//! name another staff id already holds passed the import's line checks and was refused only
//! by the schema's `UNIQUE (name)`, as a storage error naming no line or field. The file must
//! be refused whole, at that line and field — whether the name is held in the database or
//! earlier in the same file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use steward_store::import::{ImportError, LineProblem, import_bytes, import_path};
use steward_store::schema::TABLES;
use steward_store::{PlaintextForTestsOnly, Store};

fn refused_at(store: &Store, file: &[u8]) -> (usize, Option<String>, LineProblem) {
    let table = TABLES.iter().find(|t| t.name == "staff").unwrap();
    match import_bytes(store, table, "staff.jsonl", file, &PlaintextForTestsOnly).unwrap_err() {
        ImportError::Line {
            line,
            field,
            problem,
            ..
        } => (line, field, problem),
        other => panic!("refused without naming the line: {other:?}"),
    }
}

#[test]
fn a_staff_name_held_by_another_id_is_a_line_error_naming_the_field() {
    let store = Store::open("sqlite::memory:").unwrap();
    let ok = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ok");
    import_path(&store, &ok, &PlaintextForTestsOnly).unwrap();
    let count = || {
        store
            .read(|tx| tx.query_i64("SELECT COUNT(*) FROM staff", &[]))
            .unwrap()
    };
    let before = count();
    let taken: String = store
        .read(|tx| {
            tx.query_opt("SELECT name FROM staff ORDER BY staff_id LIMIT 1", &[])?
                .unwrap()
                .text(0)
        })
        .unwrap();

    let in_database = format!(
        "{{\"staff_id\": 900, \"name\": \"someone.new\", \"created_at\": 1767000000000}}\n\
         {{\"staff_id\": 901, \"name\": \"{taken}\", \"created_at\": 1767000000000}}\n"
    );
    assert_eq!(
        refused_at(&store, in_database.as_bytes()),
        (2, Some("name".to_owned()), LineProblem::InvalidValue)
    );

    let in_file = b"{\"staff_id\": 902, \"name\": \"twin\", \"created_at\": 1767000000000}\n\
{\"staff_id\": 903, \"name\": \"twin\", \"created_at\": 1767000000000}\n";
    assert_eq!(
        refused_at(&store, in_file),
        (2, Some("name".to_owned()), LineProblem::InvalidValue)
    );
    assert_eq!(count(), before, "each file is refused whole");
}
