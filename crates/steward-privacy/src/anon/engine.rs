//! The encoded problem shared by both algorithms: quasi-identifiers as hierarchy base codes,
//! the sensitive attribute as ranks, and weighted equivalence classes that roll up from finer
//! generalizations through an open-addressing table keyed by mixed-radix tuples.

use super::{AnonError, Config, Hierarchy, Table};

/// The table reduced to what anonymization needs.
#[derive(Debug)]
pub(crate) struct Encoded {
    pub(crate) rows: usize,
    pub(crate) qi_columns: Vec<usize>,
    pub(crate) hierarchies: Vec<Hierarchy>,
    /// Per quasi-identifier, each row's base code in its hierarchy.
    pub(crate) base: Vec<Vec<u32>>,
    /// Each row's sensitive value as its rank (empty when no criterion needs it).
    pub(crate) sensitive: Vec<u32>,
    /// Number of distinct sensitive values (0 when not tracked).
    pub(crate) sensitive_values: usize,
    /// The whole table's sensitive distribution, by rank.
    pub(crate) overall: Vec<f64>,
}

impl Encoded {
    pub(crate) fn new(table: &Table, config: &Config) -> Result<Encoded, AnonError> {
        config.criteria.validate()?;
        if table.rows() == 0 {
            return Err(AnonError::EmptyTable);
        }
        if config.quasi_identifiers.is_empty() {
            return Err(AnonError::InvalidParameter(
                "at least one quasi-identifier is needed".into(),
            ));
        }
        let mut qi_columns = Vec::new();
        let mut base = Vec::new();
        let mut hierarchies = Vec::new();
        let mut product: u64 = 1;
        for qi in &config.quasi_identifiers {
            let col = table.column_index(&qi.column)?;
            if qi_columns.contains(&col) || config.sensitive.as_deref() == Some(&qi.column) {
                return Err(AnonError::DuplicateColumn(qi.column.clone()));
            }
            let column = &table.columns[col];
            // Translate the column dictionary once, then each row is one array load.
            let mut dict_to_base = Vec::with_capacity(column.dict.len());
            for value in &column.dict {
                let code = qi
                    .hierarchy
                    .code_of(value)
                    .ok_or_else(|| AnonError::UnknownValue {
                        column: qi.column.clone(),
                        value: value.clone(),
                    })?;
                dict_to_base.push(code);
            }
            base.push(
                column
                    .codes
                    .iter()
                    .map(|&c| dict_to_base[c as usize])
                    .collect(),
            );
            product = product
                .checked_mul(qi.hierarchy.len() as u64)
                .ok_or_else(|| AnonError::DomainTooLarge(qi.column.clone()))?;
            qi_columns.push(col);
            hierarchies.push(qi.hierarchy.clone());
        }
        let mut sensitive = Vec::new();
        let mut sensitive_values = 0;
        let mut overall = Vec::new();
        if let Some(name) = &config.sensitive {
            let col = table.column_index(name)?;
            if config.criteria.needs_sensitive() {
                let column = &table.columns[col];
                let rank = sensitive_rank(&column.dict);
                sensitive = column.codes.iter().map(|&c| rank[c as usize]).collect();
                sensitive_values = column.dict.len();
                let mut counts = vec![0u64; sensitive_values];
                for &s in &sensitive {
                    counts[s as usize] += 1;
                }
                let n = table.rows() as f64;
                overall = counts.iter().map(|&c| c as f64 / n).collect();
            }
        } else if config.criteria.needs_sensitive() {
            return Err(AnonError::InvalidParameter(
                "l-diversity and t-closeness need a sensitive column".into(),
            ));
        }
        Ok(Encoded {
            rows: table.rows(),
            qi_columns,
            hierarchies,
            base,
            sensitive,
            sensitive_values,
            overall,
        })
    }

    pub(crate) fn qis(&self) -> usize {
        self.hierarchies.len()
    }

    /// Rows with identical quasi-identifiers merged into weighted classes.
    pub(crate) fn micro_classes(&self) -> Classes {
        let m = self.qis();
        let ns = self.sensitive_values;
        let mut strides = Vec::with_capacity(m);
        let mut s: u64 = 1;
        for h in &self.hierarchies {
            strides.push(s);
            s = s.wrapping_mul(h.len() as u64);
        }
        let mut table = KeyTable::with_capacity(self.rows);
        let mut out = Classes::new(m, ns);
        for row in 0..self.rows {
            let key = (0..m).fold(0u64, |k, q| k + u64::from(self.base[q][row]) * strides[q]);
            let idx = table.find_or_insert(key, out.counts.len() as u32);
            if idx as usize == out.counts.len() {
                out.tuples.extend((0..m).map(|q| self.base[q][row]));
                out.counts.push(0);
                out.hist.extend(std::iter::repeat_n(0, ns));
            }
            out.counts[idx as usize] += 1;
            if ns > 0 {
                out.hist[idx as usize * ns + self.sensitive[row] as usize] += 1;
            }
        }
        out
    }

    /// Per quasi-identifier, the base-to-label map at `node` and the mixed-radix stride of its
    /// labels (the product of all label counts fits 64 bits: checked in `new`).
    pub(crate) fn node_maps(&self, node: &[u8]) -> (Vec<&[u32]>, Vec<u64>) {
        let (maps, strides, _) = self.node_maps_with_space(node);
        (maps, strides)
    }

    /// [`Encoded::node_maps`] and the size of the key space (the product of label counts).
    fn node_maps_with_space(&self, node: &[u8]) -> (Vec<&[u32]>, Vec<u64>, u64) {
        let mut maps = Vec::with_capacity(node.len());
        let mut strides = Vec::with_capacity(node.len());
        let mut s: u64 = 1;
        for (h, &l) in self.hierarchies.iter().zip(node) {
            let level = &h.levels[usize::from(l)];
            maps.push(level.map.as_slice());
            strides.push(s);
            s = s.wrapping_mul(level.labels.len() as u64);
        }
        (maps, strides, s)
    }

    /// The equivalence classes of generalization `node`, rolled up from `source`, the classes
    /// of any generalization at or below `node`.
    pub(crate) fn roll_up(&self, node: &[u8], source: &Classes, table: &mut KeyTable) -> Classes {
        let m = self.qis();
        let ns = self.sensitive_values;
        let (maps, strides, space) = self.node_maps_with_space(node);
        table.prepare(space, source.len());
        let mut out = Classes::new(m, ns);
        out.tuples.reserve(source.tuples.len() / 2);
        out.counts.reserve(source.len() / 2);
        for i in 0..source.len() {
            let t = &source.tuples[i * m..(i + 1) * m];
            // Exact: the key space fits 64 bits (checked when encoding).
            let mut key = 0u64;
            for ((map, &stride), &v) in maps.iter().zip(&strides).zip(t) {
                key = key.wrapping_add(u64::from(map[v as usize]).wrapping_mul(stride));
            }
            let idx = table.find_or_insert(key, out.counts.len() as u32) as usize;
            if idx == out.counts.len() {
                out.tuples.extend_from_slice(t);
                out.counts.push(0);
                out.hist.extend(std::iter::repeat_n(0, ns));
            }
            out.counts[idx] += source.counts[i];
            if ns > 0 {
                for (d, &h) in out.hist[idx * ns..(idx + 1) * ns]
                    .iter_mut()
                    .zip(&source.hist[i * ns..(i + 1) * ns])
                {
                    *d += h;
                }
            }
        }
        out
    }
}

/// Sensitive values ranked numerically when all are numbers, else lexicographically, so the
/// ordered distance of t-closeness has an order to follow.
fn sensitive_rank(dict: &[String]) -> Vec<u32> {
    let nums: Option<Vec<f64>> = dict.iter().map(|v| v.trim().parse::<f64>().ok()).collect();
    let mut order: Vec<usize> = (0..dict.len()).collect();
    match nums {
        Some(n) => order.sort_by(|&a, &b| n[a].total_cmp(&n[b])),
        None => order.sort_by(|&a, &b| dict[a].cmp(&dict[b])),
    }
    let mut rank = vec![0u32; dict.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r as u32;
    }
    rank
}

/// Weighted equivalence classes: a representative base tuple, a row count and a sensitive
/// histogram per class, all flat.
#[derive(Debug, Clone)]
pub(crate) struct Classes {
    m: usize,
    ns: usize,
    pub(crate) tuples: Vec<u32>,
    pub(crate) counts: Vec<u32>,
    pub(crate) hist: Vec<u32>,
}

impl Classes {
    fn new(m: usize, ns: usize) -> Classes {
        Classes {
            m,
            ns,
            tuples: Vec::new(),
            counts: Vec::new(),
            hist: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.counts.len()
    }

    pub(crate) fn tuple(&self, i: usize) -> &[u32] {
        &self.tuples[i * self.m..(i + 1) * self.m]
    }

    pub(crate) fn histogram(&self, i: usize) -> &[u32] {
        &self.hist[i * self.ns..(i + 1) * self.ns]
    }
}

/// From a 64-bit key to a class index: a direct array when the key space is small, open
/// addressing otherwise; reused across evaluations so a node costs no allocation once warm.
#[derive(Debug, Default)]
pub(crate) struct KeyTable {
    /// Key and slot side by side: one cache line visit per probe.
    entries: Vec<(u64, u32)>,
    shift: u32,
    dense: Vec<u32>,
    use_dense: bool,
}

/// Largest key space indexed directly (4 MiB of slots).
const DENSE_MAX: u64 = 1 << 20;

impl KeyTable {
    pub(crate) fn with_capacity(n: usize) -> KeyTable {
        let mut t = KeyTable::default();
        t.reset(n);
        t
    }

    /// Empties the table for up to `n` keys drawn from `0..space`.
    pub(crate) fn prepare(&mut self, space: u64, n: usize) {
        // A direct array pays its clearing cost per evaluation, so only when the space is
        // not much larger than the work.
        if space <= DENSE_MAX && space <= 8 * n.max(1024) as u64 {
            let space = space as usize;
            if self.dense.len() < space {
                self.dense.resize(space, 0);
            }
            self.dense[..space].fill(0);
            self.use_dense = true;
        } else {
            self.reset(n);
        }
    }

    /// Empties the table and sizes it for up to `n` keys at most two-thirds full.
    pub(crate) fn reset(&mut self, n: usize) {
        self.use_dense = false;
        let cap = (n.max(4) * 3 / 2).next_power_of_two();
        if self.entries.len() < cap {
            self.entries = vec![(0, 0); cap];
        } else {
            self.entries[..cap].fill((0, 0));
        }
        self.shift = 64 - cap.trailing_zeros();
    }

    /// The index stored under `key`, or `next` after storing it.
    #[inline]
    pub(crate) fn find_or_insert(&mut self, key: u64, next: u32) -> u32 {
        if self.use_dense {
            let slot = &mut self.dense[key as usize];
            if *slot == 0 {
                *slot = next + 1;
                return next;
            }
            return *slot - 1;
        }
        let mask = (1usize << (64 - self.shift)) - 1;
        let mut i = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize;
        loop {
            let (k, slot) = self.entries[i];
            if slot == 0 {
                self.entries[i] = (key, next + 1);
                return next;
            }
            if k == key {
                return slot - 1;
            }
            i = (i + 1) & mask;
        }
    }
}
