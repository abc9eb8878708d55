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

    /// `n` fresh ids for `table.column`, ascending, in one query (a batch's rows, each id as
    /// [`Tx::next_id`] would give it): `n` values of the identity sequence on PostgreSQL; on
    /// SQLite the `n` integers after the largest, which no other writer can take while this
    /// transaction holds the write lock. Rows must then be written with exactly these ids.
    pub fn next_ids(
        &mut self,
        table: &str,
        column: &str,
        n: usize,
    ) -> Result<Vec<i64>, StoreError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let count = i64::try_from(n)
            .map_err(|_| StoreError::Invalid(format!("cannot reserve {n} ids at once")))?;
        match self.dialect() {
            Dialect::Postgres => {
                let rows = self.query(
                    &format!(
                        "SELECT nextval(pg_get_serial_sequence('{table}', '{column}')) \
                         FROM generate_series(1::bigint, $1::bigint)"
                    ),
                    &[count.into()],
                )?;
                let mut ids = rows
                    .iter()
                    .map(|r| r.i64(0))
                    .collect::<Result<Vec<_>, _>>()?;
                ids.sort_unstable();
                Ok(ids)
            }
            Dialect::Sqlite => {
                let first = self.next_id(table, column)?;
                let last = first
                    .checked_add(count - 1)
                    .ok_or_else(|| StoreError::Invalid(format!("`{table}` ids exhausted")))?;
                Ok((first..=last).collect())
            }
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
    let sealed = seal_message(sealer, id, m)?;
    insert_sealed_message(tx, sealed, sealer.scheme())
}

/// A message sealed for its row by [`seal_message`], ready for [`insert_sealed_message`]. It
/// holds the ciphertext only; the plaintext stayed with the caller.
#[derive(Debug)]
pub struct SealedMessage<'a> {
    message_id: i64,
    conversation_id: i64,
    author_id: i64,
    sent_at_ms: i64,
    verdict: Option<(&'a str, &'a str)>,
    sealed: SealedBytes,
}

/// The half of [`insert_message`] that needs no database: seals `m` for the row `message_id`
/// (an id from [`Tx::next_id`] or [`Tx::next_ids`]). A batch may seal on another thread
/// while this one writes the rows sealed before.
pub fn seal_message<'a>(
    sealer: &dyn Sealer,
    message_id: i64,
    m: &NewMessage<'a>,
) -> Result<SealedMessage<'a>, StoreError> {
    let sealed = sealer
        .seal(
            &SealContext {
                table: "messages",
                row_id: message_id,
                member_id: m.author_id,
                container_id: Some(m.conversation_id),
            },
            m.plaintext,
        )
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(SealedMessage {
        message_id,
        conversation_id: m.conversation_id,
        author_id: m.author_id,
        sent_at_ms: m.sent_at_ms,
        verdict: m.verdict,
        sealed,
    })
}

/// Stores a message [`seal_message`] sealed with a sealer of `scheme`; returns its id.
pub fn insert_sealed_message(
    tx: &mut Tx<'_>,
    m: SealedMessage<'_>,
    scheme: &str,
) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO messages (message_id, conversation_id, member_id, sent_at, content_sealed, \
         sealing, verdict, verdict_rule) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            m.message_id.into(),
            m.conversation_id.into(),
            m.author_id.into(),
            m.sent_at_ms.into(),
            Value::Bytes(m.sealed.into_stored_bytes()),
            scheme.into(),
            m.verdict.map(|v| v.0).into(),
            m.verdict.map(|v| v.1).into(),
        ],
    )?;
    Ok(m.message_id)
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
