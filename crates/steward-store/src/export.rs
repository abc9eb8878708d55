//! A member's data download: everything the store holds about them, one JSON file per entity
//! kind plus a README. This is an edge where data leaves the process, so the JSON shapes are
//! built here explicitly rather than derived on the domain types.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json, json};
use steward_core::Taxonomy;

use crate::db::Store;
use crate::error::StoreError;
use crate::member::{self, Member};
use crate::schema::{ColumnType, TABLES};
use crate::value::{Row, Value};

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportReport {
    pub dir: PathBuf,
    /// (file name, rows) per file written.
    pub files: Vec<(String, usize)>,
    /// Rows of private content whose text could not be included (sealed).
    pub sealed_rows: usize,
}

fn to_json(table: &str, row: &Row) -> Json {
    let mut obj = Map::new();
    for (name, v) in row.columns().iter().zip(row.values()) {
        let is_sealed = crate::schema::table(table)
            .and_then(|t| t.column(name))
            .is_some_and(|c| c.ty == ColumnType::Sealed);
        let j = match v {
            Value::Null => Json::Null,
            Value::Int(i) => json!(i),
            Value::Text(s) => json!(s),
            Value::Bytes(b) if is_sealed => json!({
                "sealed": true,
                "bytes": b.len(),
                "note": "private content is stored sealed; see README.md",
            }),
            Value::Bytes(b) => json!({ "bytes": b.len() }),
        };
        obj.insert(name.clone(), j);
    }
    Json::Object(obj)
}

/// The member's profile as JSON (for `member show --json` and the export).
pub fn member_json(m: &Member) -> Json {
    json!({
        "member_id": m.member_id,
        "first_name": m.first_name,
        "last_name": m.last_name,
        "email": m.email,
        "phone": m.phone,
        "headline": m.headline,
        "summary": m.summary,
        "city": m.city,
        "region": m.region,
        "country": m.country,
        "industry": m.industry,
        "job_function": m.job_function,
        "seniority": m.seniority,
        "company_size": m.company_size,
        "years_experience": m.years_experience,
        "jurisdiction": m.jurisdiction,
        "gender": m.gender,
        "birth_year": m.birth_year,
        "created_at": m.created_at,
        "deleted_at": m.deleted_at,
    })
}

/// Effective settings of a member at `at_ms`: every consent key and section visibility.
pub fn settings_json(
    store: &Store,
    taxonomy: &Taxonomy,
    member_id: i64,
    at_ms: i64,
) -> Result<Json, StoreError> {
    store.read(|tx| {
        let m = member::get_member(tx, member_id)?;
        let consent = member::effective_consent(tx, taxonomy, &m, at_ms)?;
        let history = member::setting_history(tx, member_id)?;
        let mut keys = Map::new();
        for k in taxonomy.consent_key_ids() {
            let name = taxonomy.consent_key_name(k);
            let explicit = history.iter().any(|e| e.key == name);
            keys.insert(
                name.to_owned(),
                json!({ "granted": consent.granted(k), "source": if explicit { "your choice" } else { "default for your jurisdiction" } }),
            );
        }
        let mut vis = Map::new();
        for (section, v, chosen) in member::section_visibility(tx, member_id)? {
            vis.insert(
                section.to_owned(),
                json!({ "visibility": v.as_str(), "source": if chosen { "your choice" } else { "default" } }),
            );
        }
        Ok(json!({ "jurisdiction": m.jurisdiction, "consent": keys, "profile_visibility": vis }))
    })
}

const README: &str = "# Your data\n\n\
This folder holds everything the network stores about you, as of the time below.\n\n\
- `member.json` — your profile.\n\
- `settings.json` — your current settings: each consent key (on/off, and whether it is your \
choice or your jurisdiction's default) and the visibility of each profile section.\n\
- `consent_events.json` — the history of every settings change: key, value, time, and who made it.\n\
- `profile_events.json` — the history of every change to your profile.\n\
- One file per other kind of data (`positions.json`, `skills.json`, `connections.json`, \
`posts.json`, `messages.json`, ...): every row that is yours. Times are milliseconds since \
1970-01-01 UTC.\n\n\
## Private content\n\n\
Your messages, attachments, private notes and posts in closed groups are stored sealed. This \
export lists each of them (when, where, how big) but not their text: the component that opens \
sealed content (the vault) is not part of this installation yet, so no one — including this \
export — can read them back here. Once it is installed, your export will include their text. \
Messages other people sent you are theirs and appear in your conversations, not in this export.\n";

/// Writes the member's download into `dir` (created; must be empty or absent).
pub fn export_member(
    store: &Store,
    taxonomy: &Taxonomy,
    member_id: i64,
    dir: &Path,
    at_ms: i64,
) -> Result<ExportReport, StoreError> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| StoreError::io(dir, e))?
            .next()
            .is_some()
    {
        return Err(StoreError::Invalid(format!(
            "`{}` is not empty; export into a new folder",
            dir.display()
        )));
    }
    let member = store.read(|tx| member::get_member(tx, member_id))?;
    let settings = settings_json(store, taxonomy, member_id, at_ms)?;
    let mut tables: Vec<(String, Vec<Json>)> = Vec::new();
    let mut sealed_rows = 0usize;
    store.read(|tx| {
        for t in TABLES {
            let Some(mc) = t.member_column else { continue };
            if t.name == "members" {
                continue;
            }
            let sql = format!(
                "SELECT {} FROM {} WHERE {mc} = $1 ORDER BY {}",
                t.column_names().join(", "),
                t.name,
                t.key.join(", ")
            );
            let rows = tx.query(&sql, &[member_id.into()])?;
            if t.has_sealed() {
                sealed_rows += rows
                    .iter()
                    .filter(|r| r.values().iter().any(|v| matches!(v, Value::Bytes(_))))
                    .count();
            }
            tables.push((
                t.name.to_owned(),
                rows.iter().map(|r| to_json(t.name, r)).collect(),
            ));
        }
        Ok::<(), StoreError>(())
    })?;
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    let write = |name: &str, value: &Json| -> Result<(), StoreError> {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(value).map_err(|e| StoreError::io(&path, e))?;
        std::fs::write(&path, text + "\n").map_err(|e| StoreError::io(&path, e))
    };
    let mut files = Vec::new();
    write("member.json", &member_json(&member))?;
    files.push(("member.json".to_owned(), 1));
    write("settings.json", &settings)?;
    files.push(("settings.json".to_owned(), 1));
    for (name, rows) in &tables {
        let file = format!("{name}.json");
        write(&file, &Json::Array(rows.clone()))?;
        files.push((file, rows.len()));
    }
    let readme = format!(
        "{README}\nExported for member {member_id} at {at_ms} (ms since the epoch); {sealed_rows} sealed item(s) listed without text.\n"
    );
    std::fs::write(dir.join("README.md"), readme).map_err(|e| StoreError::io(dir, e))?;
    files.push(("README.md".to_owned(), 0));
    Ok(ExportReport {
        dir: dir.to_path_buf(),
        files,
        sealed_rows,
    })
}
