//! The datasheet every release carries (after Gebru et al., "Datasheets for Datasets"):
//! motivation, composition, sources with exclusions by reason, transforms, privacy figures,
//! PII scrubbed per kind, the bias report and the lineage — as JSON for machines and Markdown
//! for people. It holds counts and shares only, never a member's value, so it may serialize.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use steward_store::GateReport;

/// One gated read, as the datasheet reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRead {
    pub purpose: String,
    pub form: String,
    pub categories: Vec<String>,
    pub rows_returned: u64,
    pub members_returned: u64,
    pub excluded_rows: BTreeMap<String, u64>,
    pub excluded_members: BTreeMap<String, u64>,
    pub categories_denied: Vec<(String, String)>,
}

impl From<&GateReport> for GateRead {
    fn from(r: &GateReport) -> GateRead {
        GateRead {
            purpose: r.purpose.clone(),
            form: r.form.to_owned(),
            categories: r.categories.clone(),
            rows_returned: r.rows_returned,
            members_returned: r.members_returned,
            excluded_rows: r
                .excluded_rows
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), *v))
                .collect(),
            excluded_members: r
                .excluded_members
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), *v))
                .collect(),
            categories_denied: r.categories_denied.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Composition {
    pub rows: u64,
    pub members: u64,
    pub columns: Vec<String>,
    pub quasi_identifiers: Vec<String>,
    pub sensitive: Option<String>,
    pub text_fields: Vec<String>,
    /// The column holding per-build member pseudonyms, if any.
    pub pseudonym_column: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivacySheet {
    pub k_required: usize,
    pub k_confirmed: usize,
    pub l_required: usize,
    pub l_confirmed: usize,
    pub confirmed_by: String,
    pub classes: usize,
    pub rows_in: usize,
    pub suppressed: usize,
    pub suppression_rate: f64,
    pub max_suppression: f64,
    pub information_loss: f64,
    pub generalization_levels: Vec<(String, usize)>,
    pub reidentification_risk_highest: f64,
    pub reidentification_risk_average: f64,
    pub records_at_risk: f64,
    /// Share of rows the built-in linkage attacker (public profile fields of every input
    /// member, the release's hierarchies) re-identified; at most about 1/k.
    #[serde(default)]
    pub linkage_attack_success_rate: f64,
    pub texts_scrubbed: u64,
    pub texts_changed: u64,
    pub pii_scrubbed: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupShare {
    pub group: String,
    pub dataset_count: u64,
    pub dataset_share: f64,
    pub population_count: u64,
    pub population_share: f64,
    /// Dataset share over population share (0 when the group is absent from the dataset).
    pub ratio: f64,
    pub flagged: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasDimension {
    pub dimension: String,
    pub population_basis: String,
    pub groups: Vec<GroupShare>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasReport {
    pub bound: f64,
    pub flagged: usize,
    pub dimensions: Vec<BiasDimension>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    pub policy_version: String,
    pub consent_snapshot_ms: i64,
    pub code_version: String,
    pub spec_digest: String,
    pub built_at_ms: i64,
    pub build_seconds: f64,
    /// SHA-256 of each data file.
    pub files: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Datasheet {
    pub id: String,
    pub name: String,
    pub description: String,
    pub motivation: String,
    pub purpose: String,
    pub source: String,
    pub composition: Composition,
    pub gate_reads: Vec<GateRead>,
    /// Items the gate released that the source left out, per reason (an engagement event
    /// on a member's profile, a member with a single position).
    #[serde(default)]
    pub source_exclusions: BTreeMap<String, u64>,
    pub transforms: Vec<String>,
    pub privacy: PrivacySheet,
    pub bias: BiasReport,
    pub lineage: Lineage,
}

/// Compares group shares in the dataset with the population's; a group whose ratio falls
/// below `bound` is flagged (the four-fifths rule at 0.8).
pub fn compare(
    dimension: &str,
    basis: &str,
    dataset: &BTreeMap<String, u64>,
    population: &BTreeMap<String, u64>,
    bound: f64,
) -> BiasDimension {
    let d_total: u64 = dataset.values().sum();
    let p_total: u64 = population.values().sum();
    let share = |n: u64, total: u64| {
        if total == 0 {
            0.0
        } else {
            n as f64 / total as f64
        }
    };
    let mut names: Vec<&String> = population.keys().chain(dataset.keys()).collect();
    names.sort();
    names.dedup();
    let groups = names
        .into_iter()
        .map(|g| {
            let dc = dataset.get(g).copied().unwrap_or(0);
            let pc = population.get(g).copied().unwrap_or(0);
            let ds = share(dc, d_total);
            let ps = share(pc, p_total);
            let ratio = if ps > 0.0 { ds / ps } else { f64::INFINITY };
            GroupShare {
                group: g.clone(),
                dataset_count: dc,
                dataset_share: ds,
                population_count: pc,
                population_share: ps,
                ratio: if ratio.is_finite() { ratio } else { 0.0 },
                flagged: ps > 0.0 && ratio < bound,
            }
        })
        .collect();
    BiasDimension {
        dimension: dimension.to_owned(),
        population_basis: basis.to_owned(),
        groups,
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

impl Datasheet {
    /// The datasheet for people.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Datasheet: {} (`{}`)\n", self.name, self.id);
        let _ = writeln!(s, "## Motivation\n");
        let _ = writeln!(
            s,
            "{}\n\nPurpose: `{}`. {}\n",
            self.motivation, self.purpose, self.description
        );
        let c = &self.composition;
        let _ = writeln!(s, "## Composition\n");
        let _ = writeln!(
            s,
            "- {} rows about {} members\n- columns: {}\n- quasi-identifiers: {}\n- sensitive attribute: {}\n- scrubbed text fields: {}\n- pseudonym column: {}\n",
            c.rows,
            c.members,
            c.columns.join(", "),
            c.quasi_identifiers.join(", "),
            c.sensitive.as_deref().unwrap_or("none"),
            if c.text_fields.is_empty() {
                "none".to_owned()
            } else {
                c.text_fields.join(", ")
            },
            c.pseudonym_column
                .as_deref()
                .unwrap_or("none (rows are unlinkable)"),
        );
        let _ = writeln!(s, "## Sources and exclusions\n");
        let _ = writeln!(
            s,
            "Source `{}`, read only through the purpose gate.\n",
            self.source
        );
        let _ = writeln!(
            s,
            "| purpose | form | rows returned | members returned | rows excluded | members excluded |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for r in &self.gate_reads {
            let fmt = |m: &BTreeMap<String, u64>| {
                if m.is_empty() {
                    "none".to_owned()
                } else {
                    m.iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                r.purpose,
                r.form,
                r.rows_returned,
                r.members_returned,
                fmt(&r.excluded_rows),
                fmt(&r.excluded_members)
            );
        }
        if !self.source_exclusions.is_empty() {
            let _ = writeln!(s, "\nLeft out by the source after the gate:\n");
            for (k, v) in &self.source_exclusions {
                let _ = writeln!(s, "- {k}: {v}");
            }
        }
        let _ = writeln!(s, "\n## Transforms\n");
        for t in &self.transforms {
            let _ = writeln!(s, "- {t}");
        }
        let p = &self.privacy;
        let _ = writeln!(s, "\n## Privacy\n");
        let _ = writeln!(
            s,
            "| figure | value |\n|---|---|\n| k required / confirmed | {} / {} |\n| l required / confirmed | {} / {} |\n| confirmed by | {} |\n| equivalence classes | {} |\n| suppressed | {} of {} ({}; budget {}) |\n| information loss (GCP) | {:.3} |\n| re-identification risk, highest / average | {:.4} / {:.4} |\n| records at risk | {} |\n| linkage attack success | {} |\n| texts scrubbed / changed | {} / {} |",
            p.k_required,
            p.k_confirmed,
            p.l_required,
            p.l_confirmed,
            p.confirmed_by,
            p.classes,
            p.suppressed,
            p.rows_in,
            pct(p.suppression_rate),
            pct(p.max_suppression),
            p.information_loss,
            p.reidentification_risk_highest,
            p.reidentification_risk_average,
            pct(p.records_at_risk),
            pct(p.linkage_attack_success_rate),
            p.texts_scrubbed,
            p.texts_changed,
        );
        if !p.pii_scrubbed.is_empty() {
            let _ = writeln!(s, "\nPII replaced per kind:\n");
            for (k, v) in &p.pii_scrubbed {
                let _ = writeln!(s, "- {k}: {v}");
            }
        }
        let b = &self.bias;
        let _ = writeln!(
            s,
            "\n## Bias report\n\nBound: a group is flagged when its dataset share is below {} of its population share. Flagged groups: {}.\n",
            b.bound, b.flagged
        );
        for d in &b.dimensions {
            let _ = writeln!(
                s,
                "### {}\n\nPopulation: {}\n",
                d.dimension, d.population_basis
            );
            let _ = writeln!(
                s,
                "| group | dataset | population | ratio | flag |\n|---|---|---|---|---|"
            );
            for g in &d.groups {
                let _ = writeln!(
                    s,
                    "| {} | {} ({}) | {} ({}) | {:.2} | {} |",
                    g.group,
                    pct(g.dataset_share),
                    g.dataset_count,
                    pct(g.population_share),
                    g.population_count,
                    g.ratio,
                    if g.flagged { "below bound" } else { "" }
                );
            }
            let _ = writeln!(s);
        }
        let l = &self.lineage;
        let _ = writeln!(
            s,
            "## Lineage\n\n- policy version: `{}`\n- consent snapshot: {} ms since the epoch\n- code: steward-datasets {}\n- spec digest: `{}`\n- built at: {} ms since the epoch, in {:.2} s",
            l.policy_version,
            l.consent_snapshot_ms,
            l.code_version,
            l.spec_digest,
            l.built_at_ms,
            l.build_seconds
        );
        for (f, d) in &l.files {
            let _ = writeln!(s, "- `{f}`: sha256 `{d}`");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_under_four_fifths_of_its_population_share_is_flagged() {
        let dataset = BTreeMap::from([("a".to_owned(), 70), ("b".to_owned(), 30)]);
        let population = BTreeMap::from([
            ("a".to_owned(), 50),
            ("b".to_owned(), 40),
            ("c".to_owned(), 10),
        ]);
        let d = compare("region", "all", &dataset, &population, 0.8);
        let by: BTreeMap<&str, &GroupShare> =
            d.groups.iter().map(|g| (g.group.as_str(), g)).collect();
        assert!(!by["a"].flagged);
        assert!((by["b"].ratio - 0.75).abs() < 1e-9);
        assert!(by["b"].flagged, "0.30 / 0.40 = 0.75 < 0.8");
        assert!(by["c"].flagged, "absent from the dataset");
        assert_eq!(by["c"].ratio, 0.0);
    }
}
