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
use crate::sources::{self, Extract, Progress, Silent};
use crate::spec::{PseudonymScope, SourceKind, Spec};
use crate::transforms::anonymize::anonymize_owned;
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
    build_with_progress(store, policy, ledger, spec, out_dir, at_ms, &Silent)
}

/// [`build`] of the spec file at `spec_path`.
pub fn build_from_spec_path(
    store: &Store,
    policy: &Policy,
    ledger: &Ledger,
    spec_path: &Path,
    out_dir: &Path,
    at_ms: i64,
) -> Result<Built, DatasetError> {
    let spec = Spec::load(spec_path)?;
    build(store, policy, ledger, &spec, out_dir, at_ms)
}

/// [`build`] of a spec shipped in `datasets/` and compiled in (`profiles`, `public_posts`,
/// `engagement_sequences`, `career_transitions`), for `steward demo`:
/// `build_shipped(&store, &policy, &ledger, "profiles", &demo_dir.join("datasets"), now_ms)`.
pub fn build_shipped(
    store: &Store,
    policy: &Policy,
    ledger: &Ledger,
    name: &str,
    out_dir: &Path,
    at_ms: i64,
) -> Result<Built, DatasetError> {
    let spec = Spec::shipped(name)?;
    build(store, policy, ledger, &spec, out_dir, at_ms)
}

/// [`build`], reporting each stage to `progress` (see [`TerminalProgress`] for a bar on
/// stderr).
pub fn build_with_progress(
    store: &Store,
    policy: &Policy,
    ledger: &Ledger,
    spec: &Spec,
    out_dir: &Path,
    at_ms: i64,
    progress: &dyn Progress,
) -> Result<Built, DatasetError> {
    let result = build_inner(store, policy, ledger, spec, out_dir, at_ms, progress);
    progress.finish();
    result
}

fn build_inner(
    store: &Store,
    policy: &Policy,
    ledger: &Ledger,
    spec: &Spec,
    out_dir: &Path,
    at_ms: i64,
    progress: &dyn Progress,
) -> Result<Built, DatasetError> {
    let started = Instant::now();
    let built_at_ms = now_ms();
    registry::install(store)?;
    // One key per build, drawn before the sources so item pseudonyms share it; never stored.
    let key = BuildKey::random();
    let fields = &spec.fields;
    let mut extract: Extract = match spec.source {
        SourceKind::Profiles => sources::profiles::read(store, policy, fields, at_ms, progress)?,
        SourceKind::PublicPosts => {
            sources::public_posts::read(store, policy, fields, at_ms, progress)?
        }
        SourceKind::EngagementSequences => {
            sources::engagement_sequences::read(store, policy, fields, at_ms, &key, progress)?
        }
        SourceKind::CareerTransitions => {
            sources::career_transitions::read(store, policy, fields, at_ms, progress)?
        }
    };
    if extract.rows.is_empty() {
        return Err(DatasetError::Empty);
    }
    let mut scrubbed = ScrubStats::default();
    for field in &spec.text_fields {
        if let Some(col) = extract.header.iter().position(|h| h == field) {
            progress.stage(
                &format!("scrubbing {field}"),
                Some(extract.rows.len() as u64),
            );
            scrub_column(&mut extract.rows, col, &mut scrubbed)?;
            progress.inc(extract.rows.len() as u64);
        }
    }
    progress.stage(
        &format!(
            "generalizing {} rows to k = {} (checked independently)",
            extract.rows.len(),
            spec.privacy.k
        ),
        None,
    );
    let rows_in = std::mem::take(&mut extract.rows);
    let released = anonymize_owned(spec, &extract.header, rows_in, progress)?;
    progress.stage("pseudonymizing members", Some(released.rows.len() as u64));
    let row_members: Vec<i64> = released
        .input_rows
        .iter()
        .filter_map(|&i| extract.members.get(i).copied())
        .collect();
    let distinct: BTreeSet<i64> = row_members.iter().copied().collect();

    let (header, rows) = match spec.pseudonym_scope {
        PseudonymScope::Build => {
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

    progress.stage("bias report", None);
    let bias = bias_report(spec, &extract, &distinct);
    let id = format!(
        "{}-{}-{}",
        spec.name,
        built_at_ms,
        hex::encode(rand::random::<[u8; 3]>())
    );
    let staging = Staging::new(&out_dir.join(&id))?;
    progress.stage("writing Parquet (zstd)", Some(rows.len() as u64));
    parquet::write_with_progress(&staging.path().join(DATA_FILE), &header, &rows, progress)?;
    progress.stage("digests and datasheet", None);
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
    match spec.source {
        SourceKind::EngagementSequences => transforms.push(
            "only events on public items the gate releases (public posts of consenting adult members, company pages, job postings); items named `kind:pseudonym` under the build's key in a domain of their own; times bucketed to the week (its Monday)"
                .to_owned(),
        ),
        SourceKind::CareerTransitions => transforms.push(
            "consecutive positions paired; job function from the title's O*NET-SOC major group, seniority from the member's experience when the position started (six years a level), industry from the company page; years in the earlier role banded 0-1, 2-4, 5-9, 10+"
                .to_owned(),
        ),
        SourceKind::Profiles | SourceKind::PublicPosts => {}
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
        source_exclusions: extract.source_exclusions.clone(),
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
    progress.stage("registering, ledgering and publishing", None);
    let members = MemberSet::new(distinct.iter().filter_map(|m| u64::try_from(*m).ok()));
    let dest = staging.dest().to_owned();
    let path_text = dest.display().to_string();
    // Durable staging, then the registry row, then the rename: a crash can leave a
    // registered dataset still in staging (finished on the next registry read), never a
    // visible folder without its registry row and ledger entry. A failed commit drops the
    // staging folder with `staging`.
    staging.seal()?;
    let ledger_seq =
        store.transaction(|tx| registry::record(tx, ledger, &sheet, &members, &path_text))?;
    staging.publish_registered()?;
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
        let mut by_group: BTreeMap<&str, u64> = BTreeMap::new();
        for m in members {
            if let Some(g) = extract.groups.get(*m, dim.as_str()) {
                *by_group.entry(g).or_default() += 1;
            }
        }
        let counts: BTreeMap<String, u64> = by_group
            .into_iter()
            .map(|(g, n)| (g.to_owned(), n))
            .collect();
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

/// A progress bar on stderr (indicatif), hidden when stderr is not a terminal or when the
/// caller asks for machine output.
#[derive(Debug, Clone)]
pub struct TerminalProgress {
    bar: indicatif::ProgressBar,
}

impl TerminalProgress {
    /// A bar on stderr; hidden unless `visible` and stderr is a terminal.
    pub fn stderr(visible: bool) -> TerminalProgress {
        use std::io::IsTerminal;
        let target = if visible && std::io::stderr().is_terminal() {
            indicatif::ProgressDrawTarget::stderr()
        } else {
            indicatif::ProgressDrawTarget::hidden()
        };
        let hidden = target.is_hidden();
        let bar = indicatif::ProgressBar::with_draw_target(None, target);
        if !hidden {
            // Keeps the spinner and the elapsed time moving through long stages.
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
        }
        TerminalProgress { bar }
    }

    /// Whether anything is drawn.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }
}

impl Progress for TerminalProgress {
    fn stage(&self, name: &str, len: Option<u64>) {
        let template = if len.is_some() {
            "{spinner} {msg} [{bar:30}] {pos}/{len} ({per_sec}, {elapsed})"
        } else {
            "{spinner} {msg}: {pos} ({per_sec}, {elapsed})"
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.reset();
        match len {
            Some(n) => self.bar.set_length(n),
            None => self.bar.unset_length(),
        }
        self.bar.set_message(name.to_owned());
        self.bar.tick();
    }

    fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
