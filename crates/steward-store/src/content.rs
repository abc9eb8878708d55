//! Writing and fetching private content rows (messages, attachments, private notes) — the one
//! place that knows their sealed columns. Sealing happens before the row is written, bound to
//! the row's id, so ids are allocated first.

use crate::db::{Dialect, Tx};
use crate::error::StoreError;
use crate::seal::{SealContext, SealedBytes, Sealer};
use crate::value::Value;

impl Tx<'_> {
    /// A fresh id for `table.column` (an integer key the database could also assign): the
    /// identity sequence on PostgreSQL; on SQLite the next integer, safe because a write
    /// transaction holds the database's write lock from its start.
    pub fn next_id(&mut self, table: &str, column: &str) -> Result<i64, StoreError> {
        match self.dialect() {
            Dialect::Postgres => self.query_i64(
                &format!("SELECT nextval(pg_get_serial_sequence('{table}', '{column}'))"),
                &[],
            ),
            Dialect::Sqlite => Ok(self.query_i64(
                &format!("SELECT COALESCE(MAX({column}), 0) FROM {table}"),
                &[],
            )? + 1),
        }
    }
}

/// A message to store. `verdict` is the ingest scanners' answer (`clean`, `phishing`, ...)
/// with the rule that decided, computed before sealing.
#[derive(Debug)]
pub struct NewMessage<'a> {
    pub conversation_id: i64,
    pub author_id: i64,
    pub sent_at_ms: i64,
    pub plaintext: &'a [u8],
    pub verdict: Option<(&'a str, &'a str)>,
}

/// Seals and stores a message; returns its id.
pub fn insert_message(
    tx: &mut Tx<'_>,
    sealer: &dyn Sealer,
    m: &NewMessage<'_>,
) -> Result<i64, StoreError> {
    let id = tx.next_id("messages", "message_id")?;
    let sealed = sealer
        .seal(
            &SealContext {
                table: "messages",
                row_id: id,
                member_id: m.author_id,
                container_id: Some(m.conversation_id),
            },
            m.plaintext,
        )
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    tx.execute(
        "INSERT INTO messages (message_id, conversation_id, member_id, sent_at, content_sealed, \
         sealing, verdict, verdict_rule) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            id.into(),
            m.conversation_id.into(),
            m.author_id.into(),
            m.sent_at_ms.into(),
            Value::Bytes(sealed.into_stored_bytes()),
            sealer.scheme().into(),
            m.verdict.map(|v| v.0).into(),
            m.verdict.map(|v| v.1).into(),
        ],
    )?;
    Ok(id)
}

/// A stored piece of private content, still sealed.
#[derive(Debug)]
pub struct SealedRow {
    pub table: &'static str,
    pub row_id: i64,
    pub member_id: i64,
    /// The conversation of a message or attachment.
    pub container_id: Option<i64>,
    pub sealing: String,
    pub sealed: SealedBytes,
}

/// Fetches the sealed content of a message, attachment or private note (for the vault, which
/// alone can open it).
pub fn sealed_content(tx: &mut Tx<'_>, table: &str, row_id: i64) -> Result<SealedRow, StoreError> {
    let (table, sql): (&'static str, &str) = match table {
        "messages" => (
            "messages",
            "SELECT member_id, conversation_id, sealing, content_sealed FROM messages WHERE message_id = $1",
        ),
        "attachments" => (
            "attachments",
            "SELECT a.member_id, m.conversation_id, a.sealing, a.content_sealed FROM attachments a \
             JOIN messages m ON m.message_id = a.message_id WHERE a.attachment_id = $1",
        ),
        "private_notes" => (
            "private_notes",
            "SELECT member_id, NULL, sealing, content_sealed FROM private_notes WHERE note_id = $1",
        ),
        other => {
            return Err(StoreError::Invalid(format!(
                "`{other}` holds no sealed content; expected messages, attachments or private_notes"
            )));
        }
    };
    let row = tx
        .query_opt(sql, &[row_id.into()])?
        .ok_or_else(|| StoreError::not_found(format!("{table} row `{row_id}`")))?;
    let bytes = row
        .get(3)
        .as_bytes()
        .ok_or_else(|| StoreError::Type("sealed column is not bytes".to_owned()))?
        .to_vec();
    Ok(SealedRow {
        table,
        row_id,
        member_id: row.i64(0)?,
        container_id: row.opt_i64(1)?,
        sealing: row.text(2)?,
        sealed: SealedBytes::from_sealer_output(bytes),
    })
}
