//! Fuzz finding (`fuzz/fuzz_targets/import_line.rs`): a `connections` line that connects a
//! member to themselves (`member_id == other_member_id`) passed the import's line checks and
//! was refused only by the database's `CHECK (member_id <> other_member_id)`, as a storage
//! error that names no line or field — the import promises that every refusal names file,
//! line and field. The file must still be refused whole, at that line, as an invalid value.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use steward_store::import::{ImportError, LineProblem, import_bytes, import_path};
use steward_store::schema::TABLES;
use steward_store::{PlaintextForTestsOnly, Store};

#[test]
fn a_connection_to_oneself_is_a_line_error_naming_the_field() {
    let store = Store::open("sqlite::memory:").unwrap();
    let ok = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ok");
    import_path(&store, &ok, &PlaintextForTestsOnly).unwrap();
    let table = TABLES.iter().find(|t| t.name == "connections").unwrap();
    let count = || {
        store
            .read(|tx| tx.query_i64("SELECT COUNT(*) FROM connections", &[]))
            .unwrap()
    };
    let before = count();
    let file = b"{\"member_id\": 1, \"other_member_id\": 2, \"created_at\": 1767000000009}\n\
{\"member_id\": 2, \"other_member_id\": 2, \"created_at\": 1767000000004}\n";
    let err = import_bytes(
        &store,
        table,
        "connections.jsonl",
        file,
        &PlaintextForTestsOnly,
    )
    .unwrap_err();
    match err {
        ImportError::Line {
            line,
            field,
            problem,
            ..
        } => {
            assert_eq!(line, 2);
            assert_eq!(field.as_deref(), Some("other_member_id"));
            assert_eq!(problem, LineProblem::InvalidValue);
        }
        other => panic!("refused without naming the line: {other:?}"),
    }
    assert_eq!(count(), before, "the file is refused whole");
}
