//! Generalization to k-anonymity with distinct l-diversity, through steward-privacy's optimal
//! full-domain search, and the independent checker's confirmation of what was released.
//!
//! The build never trusts the anonymizer's own count: the released rows are regrouped as
//! plain strings by `checker::check`, and a release whose smallest class is under k or whose
//! least diverse class has fewer than l sensitive values is an error, not a footnote.

use std::collections::BTreeSet;

use steward_privacy::anon::{
    self, Algorithm, Config, Criteria, Hierarchy, LDiversity, QuasiIdentifier, Table,
    UtilityMetric, checker,
};

use crate::error::DatasetError;
use crate::sources::{Progress, Silent};
use crate::spec::{HierarchyRule, Spec};

/// A released table and what protects it.
#[derive(Debug, Clone)]
pub struct Released {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Index in the input of each released row.
    pub input_rows: Vec<usize>,
    pub privacy: PrivacyFigures,
}

/// The privacy figures a datasheet reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrivacyFigures {
    pub k_required: usize,
    pub l_required: usize,
    /// Smallest class as counted by the independent checker.
    pub k_confirmed: usize,
    /// Fewest distinct sensitive values in a class, by the independent checker (0 without a
    /// sensitive attribute).
    pub l_confirmed: usize,
    pub classes: usize,
    pub rows_in: usize,
    pub suppressed: usize,
    pub suppression_rate: f64,
    pub max_suppression: f64,
    /// Global certainty penalty (0: nothing generalized, 1: everything `*`).
    pub information_loss: f64,
    /// Generalization level per quasi-identifier.
    pub levels: Vec<(String, usize)>,
    /// Prosecutor model: highest and average re-identification risk, share of rows at risk.
    pub risk_highest: f64,
    pub risk_average: f64,
    pub records_at_risk: f64,
    /// Share of released rows the built-in linkage attacker re-identified (see [`linkage_attack`]).
    pub linkage_attack_rate: f64,
}

/// The built-in linkage attack. The attacker holds the quasi-identifier values of every
/// input member as they appear on public profiles (what anyone can scrape) and the release's
/// hierarchies and levels (the datasheet publishes them). For each released row they
/// generalize everyone the same way, collect the members whose generalized tuple matches the
/// row, and guess one of them uniformly. Returns the attacker's success rate: the mean over
/// released rows of the probability that the guess is the row's member (1/|matches| when the
/// member is among the matches). Every class has at least k rows, so it is at most 1/k.
pub fn linkage_attack(
    table_rows: &[Vec<String>],
    qi_columns: &[usize],
    hierarchies: &[&Hierarchy],
    levels: &[usize],
    released: &[Vec<String>],
    released_qi_columns: &[usize],
    input_rows: &[usize],
) -> f64 {
    linkage_attack_on(
        table_rows.len(),
        |r, c| {
            table_rows
                .get(r)
                .and_then(|row| row.get(c))
                .map(String::as_str)
        },
        qi_columns,
        hierarchies,
        levels,
        released,
        released_qi_columns,
        input_rows,
    )
}

/// [`linkage_attack`] over any input table, read cell by cell (`cell(row, column)`).
///
/// Each input row is generalized once and numbered by its class; a released row's guess is
/// right with probability 1/|class| when its own input row is in the class its released
/// tuple names — the same test as searching the candidates, in constant time per row.
#[allow(clippy::too_many_arguments)]
fn linkage_attack_on<'t>(
    input_len: usize,
    cell: impl Fn(usize, usize) -> Option<&'t str>,
    qi_columns: &[usize],
    hierarchies: &[&'t Hierarchy],
    levels: &[usize],
    released: &[Vec<String>],
    released_qi_columns: &[usize],
    input_rows: &[usize],
) -> f64 {
    use std::collections::HashMap;
    const NO_CLASS: u32 = u32::MAX;
    if released.is_empty() {
        return 0.0;
    }
    let mut classes: HashMap<Vec<&str>, u32> = HashMap::new();
    let mut sizes: Vec<u64> = Vec::new();
    let mut class_of_row: Vec<u32> = Vec::with_capacity(input_len);
    for i in 0..input_len {
        let key: Option<Vec<&str>> = qi_columns
            .iter()
            .zip(hierarchies)
            .zip(levels)
            .map(|((&c, h), &l)| cell(i, c).and_then(|v| h.generalize(v, l)))
            .collect();
        let class = match key {
            Some(key) => {
                let next = u32::try_from(sizes.len()).unwrap_or(NO_CLASS);
                let class = *classes.entry(key).or_insert(next);
                if class == next {
                    sizes.push(0);
                }
                if let Some(n) = sizes.get_mut(class as usize) {
                    *n += 1;
                }
                class
            }
            None => NO_CLASS,
        };
        class_of_row.push(class);
    }
    let mut success = 0.0f64;
    let mut key: Vec<&str> = Vec::with_capacity(released_qi_columns.len());
    for (r, row) in released.iter().enumerate() {
        key.clear();
        key.extend(
            released_qi_columns
                .iter()
                .map(|&c| row.get(c).map_or("", String::as_str)),
        );
        if let Some(&class) = classes.get(&key)
            && input_rows
                .get(r)
                .and_then(|&i| class_of_row.get(i))
                .is_some_and(|&c| c == class)
            && let Some(&n) = sizes.get(class as usize)
        {
            success += 1.0 / n as f64;
        }
    }
    success / released.len() as f64
}

/// A date's or month's generalizations: itself, its month, its quarter, its year, `*`.
/// Anything else stays itself until `*`.
pub fn calendar_levels(value: &str) -> Vec<String> {
    let b = value.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let is_month = b.len() >= 7 && digits(0..4) && b[4] == b'-' && digits(5..7);
    let month: Option<u32> =
        if is_month && (b.len() == 7 || (b.len() == 10 && b[7] == b'-' && digits(8..10))) {
            value[5..7].parse().ok().filter(|m| (1..=12).contains(m))
        } else {
            None
        };
    match month {
        Some(m) => vec![
            value.to_owned(),
            value[..7].to_owned(),
            format!("{}-Q{}", &value[..4], (m - 1) / 3 + 1),
            value[..4].to_owned(),
            "*".to_owned(),
        ],
        None => vec![
            value.to_owned(),
            value.to_owned(),
            value.to_owned(),
            value.to_owned(),
            "*".to_owned(),
        ],
    }
}

fn build_hierarchy(
    rule: &HierarchyRule,
    name: &str,
    table: &Table,
) -> Result<Hierarchy, DatasetError> {
    let col = table.column_index(name)?;
    let counts = table.value_counts(col);
    let values: Vec<String> = counts.iter().map(|(v, _)| v.clone()).collect();
    Ok(match rule {
        HierarchyRule::Flat => Hierarchy::flat(name, &values)?,
        HierarchyRule::Top(n) => Hierarchy::top_n(name, &counts, *n)?,
        HierarchyRule::Bands(widths) => {
            // Non-numeric values (`unknown`) stay themselves until the top level.
            let rows: Vec<Vec<String>> = values
                .iter()
                .map(|v| {
                    let mut row = vec![v.clone()];
                    for &w in widths {
                        row.push(match v.parse::<i64>() {
                            Ok(x) => {
                                let lo = x.div_euclid(w) * w;
                                format!("{lo}-{}", lo + w - 1)
                            }
                            Err(_) => v.clone(),
                        });
                    }
                    row.push("*".to_owned());
                    row
                })
                .collect();
            Hierarchy::from_rows(name, &rows)?
        }
        HierarchyRule::Calendar => {
            let rows: Vec<Vec<String>> = values.iter().map(|v| calendar_levels(v)).collect();
            Hierarchy::from_rows(name, &rows)?
        }
        HierarchyRule::Arx(path) => {
            let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
            let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
            let sep = if first.contains(&b';') { b';' } else { b',' };
            Hierarchy::parse_arx(name, &bytes, sep)?
        }
    })
}

/// Generalizes `rows` (columns `header`) as the spec requires and confirms the result.
pub fn anonymize(
    spec: &Spec,
    header: &[String],
    rows: &[Vec<String>],
) -> Result<Released, DatasetError> {
    anonymize_owned(spec, header, rows.to_vec(), &Silent)
}

/// [`anonymize`] taking the rows, so they are freed as soon as the anonymizer's encoded
/// table holds them (a build never needs both copies at once).
pub fn anonymize_owned(
    spec: &Spec,
    header: &[String],
    rows: Vec<Vec<String>>,
    progress: &dyn Progress,
) -> Result<Released, DatasetError> {
    if rows.is_empty() {
        return Err(DatasetError::Empty);
    }
    let qis: Vec<&str> = spec
        .quasi_identifiers
        .iter()
        .map(|q| q.field.as_str())
        .collect();
    let sensitive = spec.sensitive.as_deref();
    let mut figures = PrivacyFigures {
        k_required: spec.privacy.k,
        l_required: spec.privacy.l,
        rows_in: rows.len(),
        max_suppression: spec.privacy.max_suppression,
        ..PrivacyFigures::default()
    };
    let (out_header, out_rows, input_rows) = if qis.is_empty() {
        let input: Vec<usize> = (0..rows.len()).collect();
        (header.to_vec(), rows, input)
    } else {
        let table = Table::from_rows(header.to_vec(), &rows)?;
        drop(rows);
        let mut quasi = Vec::new();
        for q in &spec.quasi_identifiers {
            quasi.push(QuasiIdentifier {
                column: q.field.clone(),
                hierarchy: build_hierarchy(&q.hierarchy, &q.field, &table)?,
            });
        }
        let config = Config {
            quasi_identifiers: quasi,
            sensitive: sensitive.map(str::to_owned),
            criteria: Criteria {
                k: spec.privacy.k,
                l_diversity: (spec.privacy.l > 1).then_some(LDiversity::Distinct(spec.privacy.l)),
                t_closeness: None,
                max_suppression: spec.privacy.max_suppression,
            },
            algorithm: Algorithm::Optimal(UtilityMetric::Loss),
            risk_threshold: 0.2,
            population_fraction: 1.0,
        };
        progress.stage(
            &format!(
                "optimal generalization of {} rows to k = {}",
                table.rows(),
                spec.privacy.k
            ),
            None,
        );
        let a = anon::anonymize(&table, &config)?;
        progress.stage("linkage attack", None);
        let width = a.header().len();
        let out: Vec<Vec<String>> = (0..a.rows())
            .map(|r| (0..width).map(|c| a.value(r, c).to_owned()).collect())
            .collect();
        figures.suppressed = a.metrics.suppressed;
        figures.suppression_rate = a.metrics.suppression_rate;
        figures.information_loss = a.metrics.gcp;
        figures.levels = match &a.node {
            Some(levels) => qis
                .iter()
                .zip(levels)
                .map(|(q, l)| ((*q).to_owned(), *l))
                .collect(),
            None => Vec::new(),
        };
        if let Some(levels) = &a.node {
            let hier: Vec<&Hierarchy> = config
                .quasi_identifiers
                .iter()
                .map(|q| &q.hierarchy)
                .collect();
            let qi_cols: Vec<usize> = qis
                .iter()
                .filter_map(|q| header.iter().position(|h| h == q))
                .collect();
            let out_cols: Vec<usize> = qis
                .iter()
                .filter_map(|q| a.header().iter().position(|h| h == q))
                .collect();
            figures.linkage_attack_rate = linkage_attack_on(
                table.rows(),
                |r, c| (r < table.rows() && c < table.header().len()).then(|| table.value(r, c)),
                &qi_cols,
                &hier,
                levels,
                &out,
                &out_cols,
                a.released_rows(),
            );
        }
        figures.risk_highest = a.risk.prosecutor.highest;
        figures.risk_average = a.risk.prosecutor.average;
        figures.records_at_risk = a.risk.prosecutor.records_at_risk;
        (a.header().to_vec(), out, a.released_rows().to_vec())
    };
    progress.stage("independent checker", None);
    let check = checker::check(&out_header, &out_rows, &qis, sensitive, None).ok_or_else(|| {
        DatasetError::NotConfirmed("the released columns do not match the spec".into())
    })?;
    figures.classes = check.classes;
    figures.k_confirmed = check.k;
    figures.l_confirmed = if sensitive.is_some() {
        check.l_distinct()
    } else {
        0
    };
    if !out_rows.is_empty() && check.k < spec.privacy.k {
        return Err(DatasetError::NotConfirmed(format!(
            "smallest class has {} rows, k = {} required",
            check.k, spec.privacy.k
        )));
    }
    if sensitive.is_some() && !out_rows.is_empty() && figures.l_confirmed < spec.privacy.l {
        return Err(DatasetError::NotConfirmed(format!(
            "least diverse class has {} sensitive values, l = {} required",
            figures.l_confirmed, spec.privacy.l
        )));
    }
    if qis.is_empty() {
        // Without quasi-identifiers every row is its own risk of 1/|table| at most.
        figures.risk_highest = 1.0 / out_rows.len().max(1) as f64;
        figures.risk_average = figures.risk_highest;
    }
    debug_assert!(input_rows.iter().collect::<BTreeSet<_>>().len() == input_rows.len());
    Ok(Released {
        header: out_header,
        rows: out_rows,
        input_rows,
        privacy: figures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_levels_go_week_month_quarter_year() {
        assert_eq!(
            calendar_levels("2025-12-29"),
            ["2025-12-29", "2025-12", "2025-Q4", "2025", "*"]
        );
        assert_eq!(
            calendar_levels("2026-02"),
            ["2026-02", "2026-02", "2026-Q1", "2026", "*"]
        );
        assert_eq!(calendar_levels("unknown")[3], "unknown");
        assert_eq!(calendar_levels("2026-13-01")[1], "2026-13-01");
    }

    #[test]
    fn the_linkage_attack_succeeds_one_in_class_size() {
        let h = Hierarchy::intervals("age", &[20, 21, 22, 23, 30, 31, 32, 33], &[10]).unwrap();
        let rows: Vec<Vec<String>> = [20, 21, 22, 23, 30, 31, 32, 33]
            .iter()
            .map(|a| vec![a.to_string()])
            .collect();
        // Level 1: two classes of four (20-29, 30-39); all rows released in order.
        let released: Vec<Vec<String>> = rows
            .iter()
            .map(|r| vec![h.generalize(&r[0], 1).unwrap().to_owned()])
            .collect();
        let input: Vec<usize> = (0..rows.len()).collect();
        let rate = linkage_attack(&rows, &[0], &[&h], &[1], &released, &[0], &input);
        assert!((rate - 0.25).abs() < 1e-12, "{rate}");
        // Level 0 (nothing generalized): everyone is unique.
        let rate = linkage_attack(&rows, &[0], &[&h], &[0], &rows, &[0], &input);
        assert!((rate - 1.0).abs() < 1e-12, "{rate}");
    }
}
