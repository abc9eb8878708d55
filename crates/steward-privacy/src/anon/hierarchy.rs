//! Generalization hierarchies: ARX's CSV format or interval/top-N rules, compiled to per-level
//! integer maps so generalizing a value is one array load.

use std::collections::HashMap;

use super::AnonError;

/// One generalization level: its distinct labels, the map from base value to label, and how
/// many base values each label covers (for NCP).
#[derive(Debug, Clone)]
pub(crate) struct Level {
    pub(crate) labels: Vec<String>,
    pub(crate) map: Vec<u32>,
    pub(crate) leaves: Vec<u32>,
}

/// A value generalization hierarchy: level 0 holds the original values, each higher level a
/// coarser label; every value has the same number of levels.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    name: String,
    index: HashMap<String, u32>,
    pub(crate) levels: Vec<Level>,
    /// Base code → position in the attribute's order (numeric when every value is a number,
    /// else hierarchy leaf order so siblings stay adjacent).
    pub(crate) rank: Vec<u32>,
    /// Base values by rank.
    pub(crate) by_rank: Vec<u32>,
    /// Numeric value of each base code, when every value is a number.
    pub(crate) numeric: Option<Vec<f64>>,
}

impl Hierarchy {
    /// Parses ARX's format: one line per value, most specific level first, fields split by `sep`.
    pub fn parse_arx(name: &str, bytes: &[u8], sep: u8) -> Result<Hierarchy, AnonError> {
        let text = std::str::from_utf8(bytes).map_err(|e| AnonError::InvalidUtf8 {
            line: 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
        })?;
        let sep = char::from(sep);
        let rows: Vec<Vec<String>> = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split(sep).map(str::to_owned).collect())
            .collect();
        Hierarchy::from_rows(name, &rows)
    }

    /// Builds a hierarchy from rows `[value, level1, level2, ...]`, checking that all rows have
    /// the same height, no value is listed twice and each label generalizes to one parent.
    pub fn from_rows(name: &str, rows: &[Vec<String>]) -> Result<Hierarchy, AnonError> {
        let Some(first) = rows.first() else {
            return Err(AnonError::HierarchyEmpty(name.to_owned()));
        };
        let height = first.len();
        if height == 0 {
            return Err(AnonError::HierarchyEmpty(name.to_owned()));
        }
        for (i, r) in rows.iter().enumerate() {
            if r.len() != height {
                return Err(AnonError::HierarchyHeight {
                    name: name.to_owned(),
                    line: i + 1,
                    found: r.len(),
                    expected: height,
                });
            }
        }
        let mut index = HashMap::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            if index.insert(r[0].clone(), i as u32).is_some() {
                return Err(AnonError::HierarchyDuplicate {
                    name: name.to_owned(),
                    value: r[0].clone(),
                });
            }
        }
        let mut levels = Vec::with_capacity(height);
        for lvl in 0..height {
            let mut label_index: HashMap<&str, u32> = HashMap::new();
            let mut labels = Vec::new();
            let mut map = Vec::with_capacity(rows.len());
            for r in rows {
                let label = r[lvl].as_str();
                let code = *label_index.entry(label).or_insert_with(|| {
                    labels.push(label.to_owned());
                    (labels.len() - 1) as u32
                });
                map.push(code);
            }
            let mut leaves = vec![0u32; labels.len()];
            for &c in &map {
                leaves[c as usize] += 1;
            }
            levels.push(Level {
                labels,
                map,
                leaves,
            });
        }
        // Each label at level i (i ≥ 1) must have one parent at level i + 1, or full-domain
        // generalization would not be a function of the previous level.
        for lvl in 1..height.saturating_sub(1) {
            let mut parent: Vec<Option<u32>> = vec![None; levels[lvl].labels.len()];
            for (base, &code) in levels[lvl].map.iter().enumerate() {
                let up = levels[lvl + 1].map[base];
                match parent[code as usize] {
                    None => parent[code as usize] = Some(up),
                    Some(p) if p == up => {}
                    Some(p) => {
                        return Err(AnonError::HierarchyInconsistent {
                            name: name.to_owned(),
                            value: levels[lvl].labels[code as usize].clone(),
                            level: lvl,
                            first: levels[lvl + 1].labels[p as usize].clone(),
                            second: levels[lvl + 1].labels[up as usize].clone(),
                        });
                    }
                }
            }
        }
        let n = rows.len();
        let numeric: Option<Vec<f64>> = rows
            .iter()
            .map(|r| r[0].trim().parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect();
        let mut by_rank: Vec<u32> = (0..n as u32).collect();
        match &numeric {
            Some(vals) => by_rank.sort_by(|&a, &b| vals[a as usize].total_cmp(&vals[b as usize])),
            None => by_rank.sort_by(|&a, &b| {
                // Most general level first, so values sharing a parent are adjacent.
                let key = |v: u32| levels.iter().rev().map(move |l| l.map[v as usize]);
                key(a).cmp(key(b))
            }),
        }
        let mut rank = vec![0u32; n];
        for (r, &v) in by_rank.iter().enumerate() {
            rank[v as usize] = r as u32;
        }
        Ok(Hierarchy {
            name: name.to_owned(),
            index,
            levels,
            rank,
            by_rank,
            numeric,
        })
    }

    /// Interval bands for integers (ages, years): level 0 the value, then one level per width
    /// (`lo-hi`, bands aligned at multiples of the width), then `*`. Each width must divide the
    /// next so bands nest.
    pub fn intervals(name: &str, values: &[i64], widths: &[i64]) -> Result<Hierarchy, AnonError> {
        if values.is_empty() {
            return Err(AnonError::HierarchyEmpty(name.to_owned()));
        }
        for (i, &w) in widths.iter().enumerate() {
            if w <= 0 || (i > 0 && w % widths[i - 1] != 0) {
                return Err(AnonError::InvalidParameter(format!(
                    "interval widths for `{name}` must be positive and each divide the next, got {widths:?}"
                )));
            }
        }
        let mut vals = values.to_vec();
        vals.sort_unstable();
        vals.dedup();
        let rows: Vec<Vec<String>> = vals
            .iter()
            .map(|&v| {
                let mut row = vec![v.to_string()];
                for &w in widths {
                    let lo = v.div_euclid(w) * w;
                    row.push(format!("{lo}-{}", lo + w - 1));
                }
                row.push("*".to_owned());
                row
            })
            .collect();
        Hierarchy::from_rows(name, &rows)
    }

    /// Top-N categories: level 1 keeps the `n` most frequent values and maps the rest to
    /// `Other`, level 2 is `*`. `counts` is most frequent first (see `Table::value_counts`).
    pub fn top_n(name: &str, counts: &[(String, u64)], n: usize) -> Result<Hierarchy, AnonError> {
        let rows: Vec<Vec<String>> = counts
            .iter()
            .enumerate()
            .map(|(i, (v, _))| {
                let mid = if i < n { v.clone() } else { "Other".to_owned() };
                vec![v.clone(), mid, "*".to_owned()]
            })
            .collect();
        Hierarchy::from_rows(name, &rows)
    }

    /// Two levels: the value, then `*`.
    pub fn flat(name: &str, values: &[String]) -> Result<Hierarchy, AnonError> {
        let rows: Vec<Vec<String>> = values
            .iter()
            .map(|v| vec![v.clone(), "*".to_owned()])
            .collect();
        Hierarchy::from_rows(name, &rows)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of levels, the original values included.
    pub fn height(&self) -> usize {
        self.levels.len()
    }

    /// Number of original values.
    pub fn len(&self) -> usize {
        self.levels.first().map_or(0, |l| l.map.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The base code of an original value.
    pub(crate) fn code_of(&self, value: &str) -> Option<u32> {
        self.index.get(value).copied()
    }

    /// The label of `value` at `level`, or `None` if either is unknown.
    pub fn generalize(&self, value: &str, level: usize) -> Option<&str> {
        let base = self.code_of(value)? as usize;
        let l = self.levels.get(level)?;
        Some(l.labels[l.map[base] as usize].as_str())
    }

    /// Normalized certainty penalty of a label: (values covered − 1) / (all values − 1).
    pub(crate) fn ncp(&self, level: usize, code: u32) -> f64 {
        let n = self.len();
        if n <= 1 {
            return 0.0;
        }
        let leaves = self.levels[level].leaves[code as usize];
        f64::from(leaves - 1) / (n - 1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(spec: &[&str]) -> Vec<Vec<String>> {
        spec.iter()
            .map(|l| l.split(';').map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn arx_format_levels_and_ncp() {
        let h = Hierarchy::parse_arx("m", b"a;x;*\nb;x;*\nc;y;*\n", b';').unwrap();
        assert_eq!(h.height(), 3);
        assert_eq!(h.generalize("b", 1), Some("x"));
        assert_eq!(h.generalize("c", 2), Some("*"));
        assert_eq!(h.ncp(1, 0), 0.5);
        assert_eq!(h.ncp(2, 0), 1.0);
        assert_eq!(h.ncp(0, 0), 0.0);
        // Leaf order keeps siblings together.
        assert_eq!(h.rank[0] + 1, h.rank[1]);
    }

    #[test]
    fn inconsistent_heights_are_refused() {
        let e = Hierarchy::from_rows("m", &rows(&["a;x;*", "b;*"])).unwrap_err();
        assert_eq!(e.code(), "anon.hierarchy_height");
    }

    #[test]
    fn a_label_with_two_parents_is_refused() {
        let e = Hierarchy::from_rows("m", &rows(&["a;x;p", "b;x;q"])).unwrap_err();
        assert_eq!(e.code(), "anon.hierarchy_inconsistent");
    }

    #[test]
    fn duplicate_and_empty_are_refused() {
        let e = Hierarchy::from_rows("m", &rows(&["a;*", "a;*"])).unwrap_err();
        assert_eq!(e.code(), "anon.hierarchy_duplicate");
        assert_eq!(
            Hierarchy::parse_arx("m", b"", b';').unwrap_err().code(),
            "anon.hierarchy_empty"
        );
    }

    #[test]
    fn interval_bands_nest() {
        let h = Hierarchy::intervals("age", &[17, 23, 39, 90], &[5, 10]).unwrap();
        assert_eq!(h.generalize("23", 1), Some("20-24"));
        assert_eq!(h.generalize("23", 2), Some("20-29"));
        assert_eq!(h.generalize("90", 3), Some("*"));
        assert!(h.numeric.is_some());
        let e = Hierarchy::intervals("age", &[1], &[5, 7]).unwrap_err();
        assert_eq!(e.code(), "anon.invalid_parameter");
    }

    #[test]
    fn top_n_keeps_the_frequent() {
        let counts = vec![
            ("US".to_owned(), 10),
            ("MX".to_owned(), 3),
            ("FR".to_owned(), 1),
        ];
        let h = Hierarchy::top_n("c", &counts, 1).unwrap();
        assert_eq!(h.generalize("US", 1), Some("US"));
        assert_eq!(h.generalize("FR", 1), Some("Other"));
    }
}
