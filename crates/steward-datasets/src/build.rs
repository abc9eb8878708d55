//! One build: gated source → scrub → anonymize (confirmed) → pseudonyms → Parquet and
//! datasheet in a staging folder → registry row and ledger entry → atomic publish.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use steward_core::Policy;
use steward_ledger::{Ledger, MemberSet};
use steward_store::Store;

use crate::datasheet::{self, BiasReport, Composition, Datasheet, GateRead, Lineage, PrivacySheet};
use crate::error::DatasetError;
use crate::registry;
use crate::sinks::parquet;
use crate::sinks::publish::Staging;
use crate::sources::{self, Extract};
use crate::spec::{PseudonymScope, SourceKind, Spec};
use crate::transforms::anonymize::anonymize;
use crate::transforms::pseudonymize::BuildKey;
use crate::transforms::scrub::{ScrubStats, scrub_column};

/// The name of the pseudonym column.
pub const PSEUDONYM_COLUMN: &str = "member_pseudonym";
/// The data file of every dataset.
pub const DATA_FILE: &str = "data.parquet";

/// What a successful build published.
#[derive(Debug, Clone)]
pub struct Built {
    pub id: String,
    pub path: PathBuf,
    pub datasheet: Datasheet,
    pub ledger_seq: u64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Builds `spec` from `store` under `policy`, with consent as of `at_ms`, and publishes it as
/// `out_dir/<id>`. Nothing is visible under `out_dir` and nothing is registered unless every
/// step succeeds.
pub fn build(
    store: &Store,
    policy: &Policy,
    ledger: &Ledger,
    spec: &Spec,
    out_dir: &Path,
    at_ms: i64,
) -> Result<Built, DatasetError> {
    let started = Instant::now();
    let built_at_ms = now_ms();
    registry::install(store)?;
    let mut extract: Extract = match spec.source {
        SourceKind::Profiles => sources::profiles::read(store, policy, &spec.fields, at_ms)?,
        SourceKind::PublicPosts => sources::public_posts::read(store, policy, &spec.fields, at_ms)?,
    };
    if extract.rows.is_empty() {
        return Err(DatasetError::Empty);
    }
    let mut scrubbed = ScrubStats::default();
    for field in &spec.text_fields {
        if let Some(col) = extract.header.iter().position(|h| h == field) {
            scrub_column(&mut extract.rows, col, &mut scrubbed)?;
        }
    }
    let released = anonymize(spec, &extract.header, &extract.rows)?;
    let row_members: Vec<i64> = released
        .input_rows
        .iter()
        .filter_map(|&i| extract.members.get(i).copied())
        .collect();
    let distinct: BTreeSet<i64> = row_members.iter().copied().collect();

    let (header, rows) = match spec.pseudonym_scope {
        PseudonymScope::Build => {
            let key = BuildKey::random();
            let mut header = vec![PSEUDONYM_COLUMN.to_owned()];
            header.extend(released.header.iter().cloned());
            let rows: Vec<Vec<String>> = released
                .rows
                .into_iter()
                .zip(&row_members)
                .map(|(row, m)| {
                    let mut out = Vec::with_capacity(row.len() + 1);
                    out.push(key.member(*m));
                    out.extend(row);
                    out
                })
                .collect();
            (header, rows)
        }
        PseudonymScope::None => (released.header.clone(), released.rows),
    };

    let bias = bias_report(spec, &extract, &distinct);
    let id = format!(
        "{}-{}-{}",
        spec.name,
        built_at_ms,
        hex::encode(rand::random::<[u8; 3]>())
    );
    let staging = Staging::new(&out_dir.join(&id))?;
    parquet::write(&staging.path().join(DATA_FILE), &header, &rows)?;
    let files = staging.digests()?;
    let p = &released.privacy;
    let mut transforms = vec![format!(
        "read through the purpose gate for `{}` in form `deidentified`; direct identifiers never leave the gate",
        sources::PURPOSE
    )];
    if !spec.text_fields.is_empty() {
        transforms.push(format!(
            "scrubbed {} with typed placeholders (steward-privacy PII detector)",
            spec.text_fields.join(", ")
        ));
    }
    if !spec.quasi_identifiers.is_empty() {
        transforms.push(format!(
            "generalized {} (optimal full-domain search, loss metric) to k = {}{} with at most {:.1}% suppressed",
            spec.quasi_identifiers
                .iter()
                .map(|q| q.field.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            spec.privacy.k,
            if spec.privacy.l > 1 {
                format!(", distinct l = {}", spec.privacy.l)
            } else {
                String::new()
            },
            spec.privacy.max_suppression * 100.0
        ));
    }
    if spec.pseudonym_scope == PseudonymScope::Build {
        transforms.push(format!(
            "member ids replaced by `{PSEUDONYM_COLUMN}`: HMAC-SHA-256 under a random per-build key that is never stored"
        ));
    }
    let sheet = Datasheet {
        id: id.clone(),
        name: spec.name.clone(),
        description: spec.description.clone(),
        motivation: spec.motivation.clone(),
        purpose: sources::PURPOSE.to_owned(),
        source: spec.source.as_str().to_owned(),
        composition: Composition {
            rows: rows.len() as u64,
            members: distinct.len() as u64,
            columns: header.clone(),
            quasi_identifiers: spec
                .quasi_identifiers
                .iter()
                .map(|q| q.field.clone())
                .collect(),
            sensitive: spec.sensitive.clone(),
            text_fields: spec.text_fields.clone(),
            pseudonym_column: (spec.pseudonym_scope == PseudonymScope::Build)
                .then(|| PSEUDONYM_COLUMN.to_owned()),
        },
        gate_reads: extract.reports.iter().map(GateRead::from).collect(),
        transforms,
        privacy: PrivacySheet {
            k_required: p.k_required,
            k_confirmed: p.k_confirmed,
            l_required: p.l_required,
            l_confirmed: p.l_confirmed,
            confirmed_by: "steward_privacy::anon::checker (independent string-level regrouping)"
                .to_owned(),
            classes: p.classes,
            rows_in: p.rows_in,
            suppressed: p.suppressed,
            suppression_rate: p.suppression_rate,
            max_suppression: p.max_suppression,
            information_loss: p.information_loss,
            generalization_levels: p.levels.clone(),
            reidentification_risk_highest: p.risk_highest,
            reidentification_risk_average: p.risk_average,
            records_at_risk: p.records_at_risk,
            linkage_attack_success_rate: p.linkage_attack_rate,
            texts_scrubbed: scrubbed.texts,
            texts_changed: scrubbed.texts_changed,
            pii_scrubbed: scrubbed.per_kind,
        },
        bias,
        lineage: Lineage {
            policy_version: policy.version_id(),
            consent_snapshot_ms: at_ms,
            code_version: env!("CARGO_PKG_VERSION").to_owned(),
            spec_digest: spec.digest.clone(),
            built_at_ms,
            build_seconds: started.elapsed().as_secs_f64(),
            files,
        },
    };
    let json =
        serde_json::to_vec_pretty(&sheet).map_err(|e| DatasetError::Datasheet(e.to_string()))?;
    staging.write_file("datasheet.json", &json)?;
    staging.write_file("datasheet.md", sheet.to_markdown().as_bytes())?;
    if spec.bias.fail_on_flag && sheet.bias.flagged > 0 {
        let groups: Vec<String> = sheet
            .bias
            .dimensions
            .iter()
            .flat_map(|d| {
                d.groups
                    .iter()
                    .filter(|g| g.flagged)
                    .map(move |g| format!("{}={} ({:.2})", d.dimension, g.group, g.ratio))
            })
            .take(5)
            .collect();
        return Err(DatasetError::BiasFlagged(format!(
            "{} group(s) below {}: {}",
            sheet.bias.flagged,
            spec.bias.bound,
            groups.join(", ")
        )));
    }
    let members = MemberSet::new(distinct.iter().filter_map(|m| u64::try_from(*m).ok()));
    let dest = staging.dest().to_owned();
    let path_text = dest.display().to_string();
    let outcome = store.transaction(|tx| {
        let seq = registry::record(tx, ledger, &sheet, &members, &path_text)?;
        // Published last inside the transaction: a failed rename rolls the registry back.
        staging.publish()?;
        Ok::<u64, DatasetError>(seq)
    });
    let ledger_seq = match outcome {
        Ok(seq) => seq,
        Err(e) => {
            // The commit itself failed after the rename: take the unregistered folder down.
            if dest.exists() {
                let _ = std::fs::remove_dir_all(&dest);
            }
            return Err(e);
        }
    };
    Ok(Built {
        id,
        path: dest,
        datasheet: sheet,
        ledger_seq,
    })
}

fn bias_report(spec: &Spec, extract: &Extract, members: &BTreeSet<i64>) -> BiasReport {
    let mut dimensions = Vec::new();
    for dim in &spec.bias.dimensions {
        let Some(population) = extract.population.get(dim.as_str()) else {
            continue;
        };
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for m in members {
            if let Some(g) = extract.groups.get(m).and_then(|g| g.get(dim.as_str())) {
                *counts.entry(g.clone()).or_default() += 1;
            }
        }
        let basis = extract
            .population_basis
            .get(dim.as_str())
            .cloned()
            .unwrap_or_default();
        dimensions.push(datasheet::compare(
            dim,
            &basis,
            &counts,
            population,
            spec.bias.bound,
        ));
    }
    let flagged = dimensions
        .iter()
        .map(|d| d.groups.iter().filter(|g| g.flagged).count())
        .sum();
    BiasReport {
        bound: spec.bias.bound,
        flagged,
        dimensions,
    }
}
