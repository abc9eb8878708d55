//! The released table: generalized cells stored as label codes per column, the suppressed
//! rows, and the metrics and risk computed from exactly those cells.

use std::time::Instant;

use super::engine::{Encoded, KeyTable};
use super::metrics::{self, Metrics};
use super::mondrian;
use super::optimal::{Lattice, SearchStats};
use super::risk::{self, Risk};
use super::{Algorithm, AnonError, Config, Table};

/// An anonymized table. Cells are label codes; labels are per column.
#[derive(Debug, Clone)]
pub struct Anonymized {
    header: Vec<String>,
    labels: Vec<Vec<String>>,
    /// Normalized certainty penalty of each label of each quasi-identifier column (empty for
    /// other columns).
    pub(crate) ncp: Vec<Vec<f64>>,
    pub(crate) qi_columns: Vec<usize>,
    pub(crate) sensitive_column: Option<usize>,
    width: usize,
    cells: Vec<u32>,
    released: Vec<usize>,
    suppressed: Vec<usize>,
    /// The generalization level of each quasi-identifier (optimal search only).
    pub node: Option<Vec<usize>>,
    pub stats: Option<SearchStats>,
    /// The value of the optimized utility metric at the chosen node (optimal search only).
    pub objective: Option<f64>,
    pub metrics: Metrics,
    pub risk: Risk,
    /// Wall time of the algorithm itself (encoding, search or partitioning), in seconds.
    pub algorithm_seconds: f64,
}

impl Anonymized {
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Indices of the quasi-identifier columns.
    pub fn qi_columns(&self) -> &[usize] {
        &self.qi_columns
    }

    /// Index of the sensitive column, when one was named.
    pub fn sensitive_column(&self) -> Option<usize> {
        self.sensitive_column
    }

    /// Number of released rows.
    pub fn rows(&self) -> usize {
        self.released.len()
    }

    /// The released cell at (`row`, `column`), or `""` out of range.
    pub fn value(&self, row: usize, column: usize) -> &str {
        self.cells
            .get(row * self.width + column)
            .and_then(|&c| self.labels.get(column).and_then(|l| l.get(c as usize)))
            .map_or("", String::as_str)
    }

    /// Input row index of each released row.
    pub fn released_rows(&self) -> &[usize] {
        &self.released
    }

    /// Input row indices that were suppressed (left out of the release).
    pub fn suppressed_rows(&self) -> &[usize] {
        &self.suppressed
    }

    pub(crate) fn cell(&self, row: usize, column: usize) -> u32 {
        self.cells[row * self.width + column]
    }

    pub(crate) fn label_count(&self, column: usize) -> usize {
        self.labels[column].len()
    }

    /// The release as delimited text with a header line. A cell holding the separator or a
    /// quote (a Mondrian value set under `,`) is quoted, RFC 4180 style.
    pub fn to_csv(&self, sep: u8) -> String {
        let sep = char::from(sep);
        let mut out = String::with_capacity(self.released.len() * self.width * 12);
        let push = |out: &mut String, cell: &str| {
            if cell.contains(sep) || cell.contains('"') || cell.contains('\n') {
                out.push('"');
                out.push_str(&cell.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(cell);
            }
        };
        for (c, h) in self.header.iter().enumerate() {
            if c > 0 {
                out.push(sep);
            }
            push(&mut out, h);
        }
        out.push('\n');
        for r in 0..self.released.len() {
            for c in 0..self.width {
                if c > 0 {
                    out.push(sep);
                }
                push(&mut out, self.value(r, c));
            }
            out.push('\n');
        }
        out
    }
}

/// Makes `table` satisfy `config.criteria` with the configured algorithm.
pub fn anonymize(table: &Table, config: &Config) -> Result<Anonymized, AnonError> {
    if !(config.risk_threshold > 0.0 && config.risk_threshold <= 1.0) {
        return Err(AnonError::InvalidParameter(format!(
            "the risk threshold must be in (0, 1], got {}",
            config.risk_threshold
        )));
    }
    if !(config.population_fraction > 0.0 && config.population_fraction <= 1.0) {
        return Err(AnonError::InvalidParameter(format!(
            "the population fraction must be in (0, 1], got {}",
            config.population_fraction
        )));
    }
    let start = Instant::now();
    let enc = Encoded::new(table, config)?;
    let width = table.header().len();
    let mut labels: Vec<Vec<String>> = table.columns.iter().map(|c| c.dict.clone()).collect();
    let mut ncp: Vec<Vec<f64>> = vec![Vec::new(); width];
    let mut qi_cells: Vec<Vec<u32>> = vec![Vec::new(); enc.qis()];
    let mut keep = vec![true; enc.rows];
    let (node, stats, objective) = match config.algorithm {
        Algorithm::Optimal(metric) => {
            let solution = Lattice::new(&enc, &config.criteria, metric)?.search()?;
            release_node(&enc, config, &solution, &mut keep, &mut qi_cells);
            for (q, &col) in enc.qi_columns.iter().enumerate() {
                let h = &enc.hierarchies[q];
                let l = usize::from(solution.node[q]);
                labels[col] = h.levels[l].labels.clone();
                ncp[col] = (0..labels[col].len() as u32).map(|c| h.ncp(l, c)).collect();
            }
            let node = solution.node.iter().map(|&l| usize::from(l)).collect();
            (Some(node), Some(solution.stats), Some(solution.eval.metric))
        }
        Algorithm::Mondrian(mode) => {
            let parts = mondrian::partition(&enc, &config.criteria, mode)?;
            let joiner = ",";
            for (q, &col) in enc.qi_columns.iter().enumerate() {
                let (l, n, cells) = describe_parts(&enc, q, &parts, enc.rows, joiner);
                labels[col] = l;
                ncp[col] = n;
                qi_cells[q] = cells;
            }
            (None, None, None)
        }
    };
    let algorithm_seconds = start.elapsed().as_secs_f64();
    let mut released = Vec::with_capacity(enc.rows);
    let mut suppressed = Vec::new();
    let mut cells = Vec::with_capacity(enc.rows * width);
    for row in 0..enc.rows {
        if !keep[row] {
            suppressed.push(row);
            continue;
        }
        released.push(row);
        for (col, column) in table.columns.iter().enumerate() {
            match enc.qi_columns.iter().position(|&c| c == col) {
                Some(q) => cells.push(qi_cells[q][row]),
                None => cells.push(column.codes[row]),
            }
        }
    }
    let sensitive_column = match &config.sensitive {
        Some(s) => Some(table.column_index(s)?),
        None => None,
    };
    let mut out = Anonymized {
        header: table.header().to_vec(),
        labels,
        ncp,
        qi_columns: enc.qi_columns.clone(),
        sensitive_column,
        width,
        cells,
        released,
        suppressed,
        node,
        stats,
        objective,
        metrics: Metrics::default(),
        risk: Risk::default(),
        algorithm_seconds,
    };
    let classes = metrics::class_of_rows(&out);
    out.metrics = metrics::compute(&out, &classes, enc.rows, config.criteria.k);
    out.risk = risk::compute(
        &classes.sizes,
        config.risk_threshold,
        config.population_fraction,
    );
    Ok(out)
}

/// One lattice node as the brute-force reference sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSummary {
    pub levels: Vec<usize>,
    pub anonymous: bool,
    pub suppressed: usize,
    pub metric: f64,
}

/// Evaluates every node of the lattice directly from the rows' micro-classes, with no pruning,
/// tagging or bounds: the reference the optimal search is tested against. Small lattices only.
pub fn evaluate_lattice(table: &Table, config: &Config) -> Result<Vec<NodeSummary>, AnonError> {
    let Algorithm::Optimal(metric) = config.algorithm else {
        return Err(AnonError::InvalidParameter(
            "the lattice exists for the optimal algorithm only".into(),
        ));
    };
    let enc = Encoded::new(table, config)?;
    let lattice = Lattice::new(&enc, &config.criteria, metric)?;
    Ok(lattice
        .exhaustive()
        .into_iter()
        .map(|(levels, e)| NodeSummary {
            levels: levels.into_iter().map(usize::from).collect(),
            anonymous: e.anonymous,
            suppressed: e.suppressed,
            metric: e.metric,
        })
        .collect())
}

/// Generalized cells of every row at the chosen node, and which rows are kept.
fn release_node(
    enc: &Encoded,
    config: &Config,
    solution: &super::optimal::Solution,
    keep: &mut [bool],
    qi_cells: &mut [Vec<u32>],
) {
    let m = enc.qis();
    let node = &solution.node;
    let (maps, strides) = enc.node_maps(node);
    let classes = &solution.classes;
    let mut table = KeyTable::with_capacity(classes.len());
    let mut kept = Vec::with_capacity(classes.len());
    for i in 0..classes.len() {
        let t = classes.tuple(i);
        let key = (0..m).fold(0u64, |k, q| {
            k + u64::from(maps[q][t[q] as usize]) * strides[q]
        });
        table.find_or_insert(key, i as u32);
        let hist = if enc.sensitive_values > 0 {
            classes.histogram(i)
        } else {
            &[]
        };
        kept.push(
            config
                .criteria
                .class_ok(classes.counts[i], hist, &enc.overall),
        );
    }
    for (q, cells) in qi_cells.iter_mut().enumerate() {
        *cells = enc.base[q].iter().map(|&b| maps[q][b as usize]).collect();
    }
    for (row, k) in keep.iter_mut().enumerate() {
        let key = (0..m).fold(0u64, |acc, q| {
            acc + u64::from(qi_cells[q][row]) * strides[q]
        });
        let idx = table.find_or_insert(key, u32::MAX - 1);
        *k = kept.get(idx as usize).copied().unwrap_or(false);
    }
}

/// Labels for one quasi-identifier over Mondrian partitions: `lo-hi` ranges for numbers, the
/// set of values present (in attribute order) for categories. Returns labels, their NCP, and
/// each row's label code.
fn describe_parts(
    enc: &Encoded,
    q: usize,
    parts: &[Vec<u32>],
    rows: usize,
    joiner: &str,
) -> (Vec<String>, Vec<f64>, Vec<u32>) {
    let h = &enc.hierarchies[q];
    let base = &enc.base[q];
    let mut index: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut labels = Vec::new();
    let mut ncps = Vec::new();
    let mut cells = vec![0u32; rows];
    let mut present = vec![false; h.len()];
    let domain = h.len().saturating_sub(1).max(1) as f64;
    for part in parts {
        let mut members: Vec<u32> = Vec::new();
        for &r in part {
            let b = base[r as usize];
            if !present[b as usize] {
                present[b as usize] = true;
                members.push(b);
            }
        }
        for &b in &members {
            present[b as usize] = false;
        }
        members.sort_by_key(|&b| h.rank[b as usize]);
        let first = members.first().copied().unwrap_or(0) as usize;
        let last = members.last().copied().unwrap_or(0) as usize;
        let values = &h.levels[0].labels;
        let (label, ncp) = match &h.numeric {
            Some(nums) => {
                let lo = nums[first];
                let hi = nums[last];
                let span = {
                    let lo_all = nums[h.by_rank[0] as usize];
                    let hi_all = nums[h.by_rank[h.len() - 1] as usize];
                    (hi_all - lo_all).max(f64::MIN_POSITIVE)
                };
                let label = if members.len() == 1 {
                    values[first].clone()
                } else {
                    format!("{}-{}", values[first], values[last])
                };
                (label, ((hi - lo) / span).clamp(0.0, 1.0))
            }
            None => {
                let label = members
                    .iter()
                    .map(|&b| values[b as usize].as_str())
                    .collect::<Vec<_>>()
                    .join(joiner);
                (label, (members.len() - 1) as f64 / domain)
            }
        };
        let code = match index.get(&label) {
            Some(&c) => c,
            None => {
                let c = labels.len() as u32;
                index.insert(label.clone(), c);
                labels.push(label);
                ncps.push(ncp);
                c
            }
        };
        for &r in part {
            cells[r as usize] = code;
        }
    }
    (labels, ncps, cells)
}
