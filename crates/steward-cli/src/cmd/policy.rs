//! `steward policy check|matrix|explain|diff`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use steward_core::consent::{defaults_for, parse_assignment};
use steward_core::policy::diff::{Population, diff};
use steward_core::{Form, Policy, Taxonomy, Visibility};
use steward_ledger::{Entry, Ledger};
use steward_store::{Store, policies};

use crate::Global;
use std::fmt::Write as _;

use crate::output::{Failure, emit, print_json};

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Parse, compile and verify a policy against the built-in invariants.
    Check {
        /// Policy file (default: the built-in policies/default.toml).
        file: Option<PathBuf>,
    },
    /// Print the category × purpose table.
    Matrix {
        file: Option<PathBuf>,
        /// Which visibility to show (the JSON output always has all of them).
        #[arg(long, default_value = "public")]
        visibility: String,
    },
    /// Explain one decision.
    Explain {
        #[arg(long)]
        purpose: String,
        #[arg(long)]
        category: String,
        #[arg(long, default_value = "public")]
        visibility: String,
        /// A consent setting, `key=on` or `key=off`; repeatable; applied over the jurisdiction's
        /// defaults.
        #[arg(long = "consent", value_name = "KEY=on|off")]
        consent: Vec<String>,
        /// The member's country (ISO 3166-1 alpha-2), which sets the consent defaults.
        #[arg(long, default_value = "US")]
        jurisdiction: String,
        /// Policy file (default: the built-in policy).
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Show which cells change between two policies and how many members each change affects.
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// A consent population: JSON lines `{"jurisdiction": "DE", "consent": {"ai.training":
        /// true}, "count": 1}` (`consent` and `count` optional).
        #[arg(long, conflicts_with = "from_store")]
        population: Option<PathBuf>,
        /// Count affected members among the members stored in `--db`.
        #[arg(long)]
        from_store: bool,
    },
    /// Make a policy the active one in the database: verified, diffed against the current one
    /// over the stored members, recorded, and ledgered in the same transaction.
    Activate {
        file: PathBuf,
        /// Who activates it (recorded in the ledger).
        #[arg(long, default_value = "admin")]
        actor: String,
        /// Why (recorded in the ledger).
        #[arg(long, default_value = "")]
        justification: String,
    },
    /// Show the active policy of the database and its activation history.
    Active,
}

pub fn run(cmd: PolicyCommand, global: &Global) -> Result<ExitCode, Failure> {
    let taxonomy = load_taxonomy(global)?;
    match cmd {
        PolicyCommand::Check { file } => check(taxonomy, file.as_deref(), global),
        PolicyCommand::Matrix { file, visibility } => {
            let policy = load_policy(taxonomy, file.as_deref())?;
            let v = parse_visibility(&visibility)?;
            matrix(&policy, v, global)
        }
        PolicyCommand::Explain {
            purpose,
            category,
            visibility,
            consent,
            jurisdiction,
            policy,
        } => {
            let policy = load_policy(taxonomy, policy.as_deref())?;
            explain(
                &policy,
                &purpose,
                &category,
                &visibility,
                &consent,
                &jurisdiction,
                global,
            )
        }
        PolicyCommand::Diff {
            old,
            new,
            population,
            from_store,
        } => {
            let old = load_policy(taxonomy.clone(), Some(&old))?;
            let new = load_policy(taxonomy.clone(), Some(&new))?;
            let pop = if from_store {
                let store = super::seed::open_store(global)?;
                Some(
                    store
                        .read(|tx| policies::consent_population(tx, &taxonomy, now_ms()))
                        .map_err(super::seed::store_failure)?,
                )
            } else {
                population
                    .as_deref()
                    .map(|p| load_population(&taxonomy, p))
                    .transpose()?
            };
            policy_diff(&old, &new, pop.as_ref(), global)
        }
        PolicyCommand::Activate {
            file,
            actor,
            justification,
        } => activate(taxonomy, &file, &actor, &justification, global),
        PolicyCommand::Active => show_active(taxonomy, global),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The policy active in `store` (the built-in one until a policy is activated).
pub fn active_policy(taxonomy: Arc<Taxonomy>, store: &Store) -> Result<Policy, Failure> {
    store
        .migrate(&policies::POLICY_MIGRATIONS)
        .map_err(super::seed::store_failure)?;
    let stored = store
        .read(policies::active)
        .map_err(super::seed::store_failure)?;
    match stored {
        None => load_policy(taxonomy, None),
        // An activated policy was verified when it was activated; a taxonomy change since
        // could still break it, and then it must not be used.
        Some(p) => Policy::load(taxonomy, &p.file_name, &p.source).map_err(|e| {
            Failure::Internal(anyhow::anyhow!(
                "the active policy `{}` no longer loads: {e}",
                p.version_id
            ))
        }),
    }
}

fn activate(
    taxonomy: Arc<Taxonomy>,
    file: &Path,
    actor: &str,
    justification: &str,
    global: &Global,
) -> Result<ExitCode, Failure> {
    let source = read_text(file)?;
    let name = file.display().to_string();
    let new = match Policy::load(taxonomy.clone(), &name, &source) {
        Ok(p) => p,
        // A policy that breaks an invariant is refused: exit 1, nothing recorded.
        Err(e) => return Err(Failure::denied(e.code(), e)),
    };
    let store = super::seed::open_store(global)?;
    Ledger::install(&store).map_err(|e| Failure::Internal(anyhow::anyhow!("{e}")))?;
    let current = active_policy(taxonomy.clone(), &store)?;
    if current.digest() == new.digest() {
        emit(&format!(
            "policy {} is already active; nothing recorded\n",
            new.version_id()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let at = now_ms();
    let population = store
        .read(|tx| policies::consent_population(tx, &taxonomy, at))
        .map_err(super::seed::store_failure)?;
    let d = diff(&current, &new, Some(&population)).map_err(|e| Failure::bad_input(e.code(), e))?;
    let summary = format!(
        "from {} to {}: {} cells changed ({} opened, {} closed, {} changed); {} of {} members affected",
        current.version_id(),
        new.version_id(),
        d.cells_changed,
        d.opened,
        d.closed,
        d.changed,
        d.members_affected.unwrap_or(0),
        d.population.unwrap_or(0)
    );
    let (activation, seq) = store
        .transaction(|tx| {
            let id = policies::record_activation(tx, &new.version_id(), &name, &source, at, actor)?;
            let mut entry = Entry::new(
                u64::try_from(at).unwrap_or(0),
                actor,
                "admin",
                "policy.administration",
                "policy.load",
            );
            entry.policy_version = new.version_id();
            entry.reference = format!("activation:{id}");
            entry.justification = justification.to_owned();
            entry.outcome = "ok".to_owned();
            entry.details = summary.clone();
            let seq = Ledger::new("steward")
                .append(tx, entry)
                .map_err(|e| steward_store::StoreError::Backend(e.to_string()))?;
            Ok::<_, steward_store::StoreError>((id, seq))
        })
        .map_err(super::seed::store_failure)?;
    if global.json {
        print_json(&serde_json::json!({
            "activated": new.version_id(),
            "activation_id": activation,
            "ledger_seq": seq,
            "diff": d,
        }))?;
    } else {
        emit(&format!(
            "activated policy {} (ledger entry {seq}): {summary}\n",
            new.version_id()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn show_active(taxonomy: Arc<Taxonomy>, global: &Global) -> Result<ExitCode, Failure> {
    let store = super::seed::open_store(global)?;
    let policy = active_policy(taxonomy, &store)?;
    let history = store
        .read(policies::history)
        .map_err(super::seed::store_failure)?;
    if global.json {
        print_json(&serde_json::json!({
            "active": policy.version_id(),
            "history": history.iter().map(|h| serde_json::json!({
                "activation_id": h.activation_id,
                "version": h.version_id,
                "file": h.file_name,
                "activated_at_ms": h.activated_at,
                "actor": h.actor,
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        let mut out = format!("active policy: {}\n", policy.version_id());
        if history.is_empty() {
            out.push_str("(the built-in policy: none was activated in this database)\n");
        }
        for h in &history {
            writeln!(
                out,
                "  #{} {} from {} by {} at {} ms",
                h.activation_id, h.version_id, h.file_name, h.actor, h.activated_at
            )
            .ok();
        }
        emit(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The built-in taxonomy, extended by `--taxonomy` when given.
pub fn load_taxonomy(global: &Global) -> Result<Arc<Taxonomy>, Failure> {
    let base = Taxonomy::builtin();
    match &global.taxonomy {
        None => Ok(Arc::new(base)),
        Some(path) => {
            let src = read_text(path)?;
            base.extend(&path.display().to_string(), &src)
                .map(Arc::new)
                .map_err(|e| Failure::bad_input(e.code(), e))
        }
    }
}

/// The policy in `file`, or the built-in one.
pub fn load_policy(taxonomy: Arc<Taxonomy>, file: Option<&Path>) -> Result<Policy, Failure> {
    let (name, src) = match file {
        Some(p) => (p.display().to_string(), read_text(p)?),
        None => (
            "<builtin policies/default.toml>".to_owned(),
            steward_core::policy::DEFAULT_POLICY_TOML.to_owned(),
        ),
    };
    Policy::load(taxonomy, &name, &src).map_err(|e| Failure::bad_input(e.code(), e))
}

fn read_text(path: &Path) -> Result<String, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::bad_input("io.read", format!("cannot read `{}`: {e}", path.display()))
    })?;
    String::from_utf8(bytes).map_err(|e| {
        Failure::bad_input(
            "input.invalid_utf8",
            format!(
                "`{}` is not valid UTF-8 (byte {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn parse_visibility(s: &str) -> Result<Visibility, Failure> {
    Visibility::parse(s).ok_or_else(|| {
        Failure::bad_input(
            "policy.unknown_visibility",
            format!(
                "unknown visibility `{s}` (public, connections, group_open, group_closed, private)"
            ),
        )
    })
}

fn check(
    taxonomy: Arc<Taxonomy>,
    file: Option<&Path>,
    global: &Global,
) -> Result<ExitCode, Failure> {
    let policy = match load_policy(taxonomy, file) {
        Ok(p) => p,
        // A policy that fails its check is a "no", not bad usage: exit 1 with the reason.
        Err(Failure::BadInput { code, message }) => return Err(Failure::Denied { code, message }),
        Err(other) => return Err(other),
    };
    if global.json {
        print_json(&serde_json::json!({
            "ok": true,
            "version": policy.version(),
            "version_id": policy.version_id(),
            "rules": policy.rules().len(),
            "cells": policy.cell_count(),
            "invariants": steward_core::policy::invariants::ALL.iter().map(|i| i.id).collect::<Vec<_>>(),
        }))?;
    } else {
        emit(&format!(
            "ok: policy {} ({} rules) compiles to {} cells and keeps all {} built-in invariants\n",
            policy.version_id(),
            policy.rules().len(),
            policy.cell_count(),
            steward_core::policy::invariants::ALL.len()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn short(form: Form) -> &'static str {
    match form {
        Form::Raw => "raw",
        Form::Pseudonymized => "pseu",
        Form::Deidentified => "deid",
        Form::Aggregate => "aggr",
        Form::Audience => "aud",
        Form::Verdict => "verd",
    }
}

fn matrix(policy: &Policy, visibility: Visibility, global: &Global) -> Result<ExitCode, Failure> {
    let t = policy.taxonomy();
    if global.json {
        let mut cells = Vec::new();
        for c in t.category_ids() {
            for p in t.purpose_ids() {
                for v in Visibility::ALL {
                    let rules = policy.cell_rules(p, c, v);
                    if rules.is_empty() {
                        continue;
                    }
                    let candidates: Vec<_> = rules
                        .iter()
                        .map(|e| {
                            serde_json::json!({
                                "rule": policy.rule_name(e.rule),
                                "form": e.form.as_str(),
                                "consent": t.consent_key_ids()
                                    .filter(|k| e.required & (1u64 << k.index()) != 0)
                                    .map(|k| t.consent_key_name(k))
                                    .collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                    cells.push(serde_json::json!({
                        "category": t.category_name(c),
                        "purpose": t.purpose_name(p),
                        "visibility": v.as_str(),
                        "rules": candidates,
                    }));
                }
            }
        }
        print_json(&serde_json::json!({
            "version": policy.version_id(),
            "purposes": t.purposes().iter().map(|p| &p.name).collect::<Vec<_>>(),
            "categories": t.categories().iter().map(|c| &c.name).collect::<Vec<_>>(),
            "allowed_cells": cells,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut out = String::new();
    // Leaf purposes only: a parent such as `ads` is never requested on its own.
    let purposes: Vec<_> = t
        .purpose_ids()
        .filter(|&p| !t.purposes().iter().any(|q| q.parent == Some(p)))
        .collect();
    let width = t
        .categories()
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(8);
    writeln!(
        out,
        "policy {} — visibility `{visibility}`; cell = allowed form, `+` = needs consent, `-` = denied",
        policy.version_id()
    ).ok();
    for (i, p) in purposes.iter().enumerate() {
        writeln!(out, "  [{:>2}] {}", i + 1, t.purpose_name(*p)).ok();
    }
    write!(out, "{:width$} ", "category").ok();
    for i in 0..purposes.len() {
        write!(out, "{:>6}", format!("[{}]", i + 1)).ok();
    }
    writeln!(out).ok();
    for c in t.category_ids() {
        write!(out, "{:width$} ", t.category_name(c)).ok();
        for p in &purposes {
            let rules = policy.cell_rules(*p, c, visibility);
            let cell = match rules.first() {
                None => "-".to_owned(),
                Some(e) if rules.iter().any(|e| e.required == 0) => short(
                    rules
                        .iter()
                        .find(|e| e.required == 0)
                        .map(|e| e.form)
                        .unwrap_or(e.form),
                )
                .to_owned(),
                Some(e) => format!("{}+", short(e.form)),
            };
            write!(out, "{cell:>6}").ok();
        }
        writeln!(out).ok();
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn explain(
    policy: &Policy,
    purpose: &str,
    category: &str,
    visibility: &str,
    consent: &[String],
    jurisdiction: &str,
    global: &Global,
) -> Result<ExitCode, Failure> {
    let t = policy.taxonomy();
    let p = t.purpose_id(purpose).ok_or_else(|| {
        Failure::bad_input(
            "policy.unknown_purpose",
            format!("unknown purpose `{purpose}`"),
        )
    })?;
    let c = t.category_id(category).ok_or_else(|| {
        Failure::bad_input(
            "policy.unknown_category",
            format!("unknown category `{category}`"),
        )
    })?;
    let v = parse_visibility(visibility)?;
    let mut set = defaults_for(t, jurisdiction);
    for a in consent {
        let (k, on) = parse_assignment(t, a).map_err(|e| Failure::bad_input(e.code(), e))?;
        set.set(k, on);
    }
    let e = policy.explain(p, c, v, set);
    if global.json {
        print_json(&e)?;
    } else {
        emit(&format!(
            "{}: {}\n",
            if e.allowed { "allowed" } else { "denied" },
            e.reason
        ))?;
    }
    Ok(if e.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PopulationLine {
    jurisdiction: String,
    #[serde(default)]
    consent: std::collections::BTreeMap<String, bool>,
    #[serde(default = "one")]
    count: u64,
}

fn one() -> u64 {
    1
}

fn load_population(taxonomy: &Taxonomy, path: &Path) -> Result<Population, Failure> {
    let text = read_text(path)?;
    let mut pop = Population::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{}:{}", path.display(), i + 1);
        let row: PopulationLine = serde_json::from_str(line)
            .map_err(|e| Failure::bad_input("population.parse", format!("{at}: {e}")))?;
        let mut set = defaults_for(taxonomy, &row.jurisdiction);
        for (k, v) in row.consent {
            let key = taxonomy.consent_key_id(&k).ok_or_else(|| {
                Failure::bad_input(
                    "consent.unknown_key",
                    format!("{at}: unknown consent key `{k}`"),
                )
            })?;
            set.set(key, v);
        }
        pop.add(set, row.count);
    }
    Ok(pop)
}

fn policy_diff(
    old: &Policy,
    new: &Policy,
    pop: Option<&Population>,
    global: &Global,
) -> Result<ExitCode, Failure> {
    let d = diff(old, new, pop).map_err(|e| Failure::bad_input(e.code(), e))?;
    if global.json {
        print_json(&d)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    writeln!(
        out,
        "policy {} → {}: {} cells change ({} opened, {} closed, {} changed)",
        d.old_version, d.new_version, d.cells_changed, d.opened, d.closed, d.changed
    )
    .ok();
    if let (Some(n), Some(total)) = (d.members_affected, d.population) {
        writeln!(out, "members affected: {n} of {total}").ok();
    }
    let show = |rules: &[steward_core::policy::diff::RuleSummary]| {
        if rules.is_empty() {
            "denied".to_owned()
        } else {
            rules
                .iter()
                .map(|r| {
                    if r.consent.is_empty() {
                        format!("{} ({})", r.form, r.rule)
                    } else {
                        format!(
                            "{} with consent [{}] ({})",
                            r.form,
                            r.consent.join(", "),
                            r.rule
                        )
                    }
                })
                .collect::<Vec<_>>()
                .join(" | ")
        }
    };
    for c in &d.changes {
        let affected = c
            .affected_members
            .map(|n| format!("  [{n} members]"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {} × {} ({}): {} → {}{affected}",
            c.purpose,
            c.category,
            c.visibilities.join(", "),
            show(&c.before),
            show(&c.after)
        )
        .ok();
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
