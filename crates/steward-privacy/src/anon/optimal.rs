//! Globally optimal full-domain generalization over the hierarchy lattice.
//!
//! Two phases. (1) When the criteria are monotone with suppression counted (see
//! `Criteria::monotone`), anonymity of every node is settled Flash-style: from each unsettled
//! node a chain of unsettled successors is binary-searched, and each evaluation tags all
//! successors (anonymous) or all predecessors (not anonymous) without evaluating them.
//! (2) Utility: candidates are visited in increasing order of a lower bound of the metric that
//! never decreases with generalization and never exceeds the true value; the search stops once
//! the bound reaches the best value found, so every node left unvisited is provably no better.
//! Without suppression all three metrics are themselves monotone and only the minimal anonymous
//! nodes are candidates.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::AnonError;
use super::criteria::Criteria;
use super::engine::{Classes, Encoded, KeyTable};

/// What the optimal search minimizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UtilityMetric {
    /// Average normalized certainty penalty of all cells (GCP); suppressed cells cost 1.
    Loss,
    /// Σ |class|² over released classes plus |table| per suppressed row.
    Discernibility,
    /// Rows per released class (|table| / classes).
    AverageClassSize,
}

/// How much work the search did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchStats {
    pub lattice_nodes: usize,
    pub evaluated: usize,
    /// Nodes whose anonymity was settled by tagging, without evaluation.
    pub tagged: usize,
    /// Nodes taken out by the utility bound without evaluation.
    pub bounded: usize,
    pub micro_classes: usize,
}

/// The outcome of one node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeEval {
    pub(crate) anonymous: bool,
    pub(crate) suppressed: usize,
    pub(crate) metric: f64,
    /// Σ |class|² over all classes, suppressed ones included (never decreases upwards).
    all_squares: f64,
    /// Number of classes, suppressed ones included (never increases upwards).
    all_classes: usize,
}

pub(crate) struct Solution {
    pub(crate) node: Vec<u8>,
    pub(crate) classes: Classes,
    pub(crate) eval: NodeEval,
    pub(crate) stats: SearchStats,
}

/// Where a node's classes can be rolled up from.
enum Source {
    Exact(usize),
    Below(usize),
    Nothing,
}

/// Largest lattice the search accepts (the state arrays are per node).
const MAX_NODES: usize = 4_000_000;
/// Cached class lists kept for roll-ups, in total classes.
const CACHE_CLASSES: usize = 4_000_000;

pub(crate) struct Lattice<'a> {
    enc: &'a Encoded,
    criteria: &'a Criteria,
    metric: UtilityMetric,
    heights: Vec<u8>,
    radix: Vec<usize>,
    nodes: usize,
    /// Levels of every node, `m` per node, and each node's level sum.
    node_levels: Vec<u8>,
    sums: Vec<u16>,
    micro: Classes,
    ncp: Vec<Vec<Vec<f64>>>,
    gen_loss: Vec<Vec<f64>>,
    present: Vec<Vec<usize>>,
    table: KeyTable,
    cache: Vec<(usize, Vec<u8>, Classes)>,
    cached_classes: usize,
    evals: Vec<Option<NodeEval>>,
    /// Facts learnt from evaluated nodes that bound others: the largest Σ|class|² below a
    /// node, the fewest classes below it, and (monotone criteria only) the most suppressed
    /// rows above it.
    squares_floor: Vec<f64>,
    classes_cap: Vec<usize>,
    suppressed_floor: Vec<usize>,
    /// Per quasi-identifier and level, the largest NCP of any label.
    max_ncp: Vec<Vec<f64>>,
    stats: SearchStats,
}

impl<'a> Lattice<'a> {
    pub(crate) fn new(
        enc: &'a Encoded,
        criteria: &'a Criteria,
        metric: UtilityMetric,
    ) -> Result<Lattice<'a>, AnonError> {
        let heights: Vec<u8> = enc
            .hierarchies
            .iter()
            .map(|h| u8::try_from(h.height()).unwrap_or(u8::MAX))
            .collect();
        let mut radix = Vec::with_capacity(heights.len());
        let mut nodes: usize = 1;
        for &h in &heights {
            radix.push(nodes);
            nodes = nodes
                .checked_mul(usize::from(h))
                .filter(|&n| n <= MAX_NODES)
                .ok_or_else(|| {
                    AnonError::InvalidParameter(format!(
                        "the generalization lattice has more than {MAX_NODES} nodes"
                    ))
                })?;
        }
        let m = heights.len();
        let mut node_levels = Vec::with_capacity(nodes * m);
        let mut sums = Vec::with_capacity(nodes);
        for id in 0..nodes {
            let mut sum = 0u16;
            for (&h, &r) in heights.iter().zip(&radix) {
                let l = ((id / r) % usize::from(h)) as u8;
                node_levels.push(l);
                sum += u16::from(l);
            }
            sums.push(sum);
        }
        let micro = enc.micro_classes();
        let n = enc.rows as f64;
        let mut ncp = Vec::new();
        let mut gen_loss = Vec::new();
        let mut present = Vec::new();
        let mut max_ncp: Vec<Vec<f64>> = Vec::new();
        for (q, h) in enc.hierarchies.iter().enumerate() {
            let per_level: Vec<Vec<f64>> = (0..h.height())
                .map(|l| {
                    (0..h.levels[l].labels.len() as u32)
                        .map(|c| h.ncp(l, c))
                        .collect()
                })
                .collect();
            let mut base_count = vec![0u64; h.len()];
            for &b in &enc.base[q] {
                base_count[b as usize] += 1;
            }
            let mut losses = Vec::new();
            let mut pres = Vec::new();
            for (l, level) in h.levels.iter().enumerate() {
                let mut seen = vec![false; level.labels.len()];
                let mut loss = 0.0;
                for (b, &cnt) in base_count.iter().enumerate() {
                    if cnt > 0 {
                        let code = level.map[b] as usize;
                        seen[code] = true;
                        loss += cnt as f64 * per_level[l][code];
                    }
                }
                losses.push(loss / n);
                pres.push(seen.iter().filter(|&&s| s).count());
            }
            max_ncp.push(
                per_level
                    .iter()
                    .map(|l| l.iter().copied().fold(0.0, f64::max))
                    .collect(),
            );
            ncp.push(per_level);
            gen_loss.push(losses);
            present.push(pres);
        }
        let stats = SearchStats {
            lattice_nodes: nodes,
            micro_classes: micro.len(),
            ..SearchStats::default()
        };
        Ok(Lattice {
            enc,
            criteria,
            metric,
            heights,
            radix,
            nodes,
            node_levels,
            sums,
            table: KeyTable::with_capacity(micro.len()),
            micro,
            ncp,
            gen_loss,
            present,
            cache: Vec::new(),
            cached_classes: 0,
            evals: vec![None; nodes],
            squares_floor: vec![0.0; nodes],
            classes_cap: vec![usize::MAX; nodes],
            suppressed_floor: vec![0; nodes],
            max_ncp,
            stats,
        })
    }

    pub(crate) fn levels(&self, id: usize) -> &[u8] {
        let m = self.heights.len();
        &self.node_levels[id * m..(id + 1) * m]
    }

    fn level_sum(&self, id: usize) -> usize {
        usize::from(self.sums[id])
    }

    fn successors(&self, id: usize) -> impl Iterator<Item = usize> + '_ {
        let lv = self.levels(id);
        (0..self.heights.len())
            .filter(move |&q| lv[q] + 1 < self.heights[q])
            .map(move |q| id + self.radix[q])
    }

    fn predecessors(&self, id: usize) -> impl Iterator<Item = usize> + '_ {
        let lv = self.levels(id);
        (0..self.heights.len())
            .filter(move |&q| lv[q] > 0)
            .map(move |q| id - self.radix[q])
    }

    /// The classes of node `id`, rolled up from the cached node below it with fewest classes.
    fn classes_of(&mut self, id: usize) -> Classes {
        let node = self.levels(id).to_vec();
        let mut best = match self.cached_source(id, &node) {
            Source::Exact(i) => return self.cache[i].2.clone(),
            Source::Below(i) => Some(i),
            Source::Nothing => None,
        };
        if best.is_none() {
            // Nothing evaluated below: evaluate the node that keeps only this node's fully
            // generalized attributes. Nodes that suppress the same attributes share it, and it
            // has far fewer classes than the rows' micro-classes.
            let floor: usize = node
                .iter()
                .zip(&self.heights)
                .zip(&self.radix)
                .map(|((&l, &h), &r)| if l + 1 == h { usize::from(l) * r } else { 0 })
                .sum();
            if floor != id && floor != 0 && self.evals[floor].is_none() {
                self.evaluate(floor);
                if let Source::Below(i) = self.cached_source(id, &node) {
                    best = Some(i);
                }
            }
        }
        let source = match best {
            Some(i) => &self.cache[i].2,
            None => &self.micro,
        };
        self.enc.roll_up(&node, source, &mut self.table)
    }

    /// The cached classes of `id` itself, or of the node below it with the fewest classes.
    fn cached_source(&self, id: usize, node: &[u8]) -> Source {
        let mut best: Option<usize> = None;
        for (i, (cid, lv, cl)) in self.cache.iter().enumerate() {
            if *cid == id {
                return Source::Exact(i);
            }
            if lv.iter().zip(node).all(|(a, b)| a <= b)
                && best.is_none_or(|b| cl.len() < self.cache[b].2.len())
            {
                best = Some(i);
            }
        }
        best.map_or(Source::Nothing, Source::Below)
    }

    fn remember(&mut self, id: usize, classes: Classes) {
        self.cached_classes += classes.len();
        self.cache.push((id, self.levels(id).to_vec(), classes));
        while self.cached_classes > CACHE_CLASSES && self.cache.len() > 1 {
            // Drop the largest: it saves the least work per byte kept.
            let mut worst = 0;
            for i in 1..self.cache.len() {
                if self.cache[i].2.len() > self.cache[worst].2.len() {
                    worst = i;
                }
            }
            let (_, _, c) = self.cache.swap_remove(worst);
            self.cached_classes -= c.len();
        }
    }

    pub(crate) fn evaluate(&mut self, id: usize) -> NodeEval {
        if let Some(e) = self.evals[id] {
            return e;
        }
        let classes = self.classes_of(id);
        let e = self.judge(id, &classes);
        self.stats.evaluated += 1;
        self.evals[id] = Some(e);
        self.remember(id, classes);
        self.learn(id, e);
        e
    }

    /// Spreads what node `id` revealed: its Σ|class|² and class count bound every node above,
    /// its suppression every node below (when suppression is monotone). Stops where nothing
    /// improves, so each fact costs only the nodes it changes.
    fn learn(&mut self, id: usize, e: NodeEval) {
        let mut stack = vec![id];
        while let Some(x) = stack.pop() {
            if self.squares_floor[x] >= e.all_squares && self.classes_cap[x] <= e.all_classes {
                continue;
            }
            self.squares_floor[x] = self.squares_floor[x].max(e.all_squares);
            self.classes_cap[x] = self.classes_cap[x].min(e.all_classes);
            stack.extend(self.successors(x));
        }
        if !self.criteria.monotone() {
            return;
        }
        stack.push(id);
        while let Some(x) = stack.pop() {
            if self.suppressed_floor[x] >= e.suppressed && x != id {
                continue;
            }
            self.suppressed_floor[x] = self.suppressed_floor[x].max(e.suppressed);
            stack.extend(self.predecessors(x));
        }
    }

    /// The static bound tightened by what evaluated nodes revealed.
    fn learnt_bound(&self, id: usize) -> f64 {
        let node = self.levels(id);
        let n = self.enc.rows as f64;
        let k = self.criteria.k as f64;
        let supp = self.suppressed_floor[id] as f64;
        let learnt = match self.metric {
            UtilityMetric::Loss => {
                // Each suppressed row costs 1 per cell instead of at most the level's worst NCP.
                let m = node.len() as f64;
                let worst: f64 = node
                    .iter()
                    .enumerate()
                    .map(|(q, &l)| self.max_ncp[q][usize::from(l)])
                    .sum();
                self.lower_bound(id) + supp * (m - worst) / (n * m)
            }
            UtilityMetric::Discernibility => {
                self.squares_floor[id].max(supp * n + (n - supp) * k.min(n))
            }
            UtilityMetric::AverageClassSize => {
                let kept = (self.classes_cap[id] as f64).min(((n - supp) / k).floor());
                n / kept.max(1.0)
            }
        };
        learnt.max(self.lower_bound(id))
    }

    /// Suppression, anonymity and the metric of a node from its classes.
    fn judge(&self, id: usize, classes: &Classes) -> NodeEval {
        let node = self.levels(id);
        let enc = self.enc;
        let n = enc.rows;
        let m = enc.qis();
        let mut suppressed = 0usize;
        let mut kept_classes = 0usize;
        let mut kept_sq = 0f64;
        let mut kept_loss = 0f64;
        for i in 0..classes.len() {
            let count = classes.counts[i];
            let hist = if enc.sensitive_values > 0 {
                classes.histogram(i)
            } else {
                &[]
            };
            if self.criteria.class_ok(count, hist, &enc.overall) {
                kept_classes += 1;
                kept_sq += f64::from(count) * f64::from(count);
                if self.metric == UtilityMetric::Loss {
                    let t = classes.tuple(i);
                    let mut cell = 0.0;
                    for q in 0..m {
                        let l = usize::from(node[q]);
                        let code = enc.hierarchies[q].levels[l].map[t[q] as usize];
                        cell += self.ncp[q][l][code as usize];
                    }
                    kept_loss += f64::from(count) * cell;
                }
            } else {
                suppressed += count as usize;
            }
        }
        let anonymous = suppressed <= self.criteria.budget(n);
        let nf = n as f64;
        let metric = match self.metric {
            UtilityMetric::Loss => (kept_loss + (suppressed * m) as f64) / (nf * m as f64),
            UtilityMetric::Discernibility => kept_sq + suppressed as f64 * nf,
            UtilityMetric::AverageClassSize => nf / kept_classes.max(1) as f64,
        };
        NodeEval {
            anonymous,
            suppressed,
            metric,
            all_squares: classes
                .counts
                .iter()
                .map(|&c| f64::from(c) * f64::from(c))
                .sum(),
            all_classes: classes.len(),
        }
    }

    /// A lower bound of the metric at `id` that never decreases with generalization.
    fn lower_bound(&self, id: usize) -> f64 {
        let node = self.levels(id);
        let n = self.enc.rows as f64;
        let k = self.criteria.k as f64;
        let m = node.len();
        match self.metric {
            UtilityMetric::Loss => {
                (0..m)
                    .map(|q| self.gen_loss[q][usize::from(node[q])])
                    .sum::<f64>()
                    / m as f64
            }
            UtilityMetric::Discernibility | UtilityMetric::AverageClassSize => {
                // Classes cannot outnumber the product of the distinct labels present.
                let prod: f64 = self
                    .present
                    .iter()
                    .zip(node)
                    .map(|(p, &l)| p[usize::from(l)] as f64)
                    .product();
                let cmax = n.min(prod);
                if self.metric == UtilityMetric::Discernibility {
                    // Σc² ≥ n²/classes; every row costs at least k (kept) or n (suppressed).
                    (n * n / cmax).max(n * k.min(n))
                } else {
                    n / cmax.min((n / k).floor().max(1.0))
                }
            }
        }
    }

    /// Settles anonymity of every node, evaluating as few as the binary searches need.
    fn classify(&mut self) -> Vec<bool> {
        // 0 unknown, 1 anonymous, 2 not anonymous.
        let mut state = vec![0u8; self.nodes];
        let mut order: Vec<usize> = (0..self.nodes).collect();
        order.sort_by_key(|&id| (self.level_sum(id), id));
        for &start in &order {
            if state[start] != 0 {
                continue;
            }
            let mut path = vec![start];
            let mut cur = start;
            while let Some(next) = self.successors(cur).find(|&s| state[s] == 0) {
                path.push(next);
                cur = next;
            }
            let (mut lo, mut hi) = (0usize, path.len());
            while lo < hi {
                let mid = (lo + hi) / 2;
                let id = path[mid];
                let anonymous = match state[id] {
                    1 => true,
                    2 => false,
                    _ => {
                        let e = self.evaluate(id);
                        self.tag(&mut state, id, e.anonymous);
                        e.anonymous
                    }
                };
                if anonymous {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
        }
        self.stats.tagged = self.evals.iter().filter(|e| e.is_none()).count();
        state.iter().map(|&s| s == 1).collect()
    }

    fn tag(&self, state: &mut [u8], id: usize, anonymous: bool) {
        let mark = if anonymous { 1 } else { 2 };
        let mut stack = vec![id];
        while let Some(x) = stack.pop() {
            if state[x] == mark {
                continue;
            }
            state[x] = mark;
            if anonymous {
                stack.extend(self.successors(x).filter(|&s| state[s] != 1));
            } else {
                stack.extend(self.predecessors(x).filter(|&p| state[p] != 2));
            }
        }
    }

    pub(crate) fn search(mut self) -> Result<Solution, AnonError> {
        let monotone = self.criteria.monotone();
        let candidates: Vec<usize> = if monotone {
            let anonymous = self.classify();
            let no_suppression = self.criteria.budget(self.enc.rows) == 0;
            (0..self.nodes)
                .filter(|&id| anonymous[id])
                .filter(|&id| !no_suppression || !self.predecessors(id).any(|p| anonymous[p]))
                .collect()
        } else {
            (0..self.nodes).collect()
        };
        // Lazy best-first order: a node whose bound rose since it was queued goes back in.
        let mut queue: BinaryHeap<Reverse<(u64, usize, usize)>> = candidates
            .iter()
            .map(|&id| Reverse((self.learnt_bound(id).to_bits(), self.level_sum(id), id)))
            .collect();
        let mut best: Option<(usize, NodeEval)> = None;
        while let Some(Reverse((bits, sum, id))) = queue.pop() {
            let queued = f64::from_bits(bits);
            if best.is_some_and(|(_, b)| queued >= b.metric) {
                self.stats.bounded = queue.len() + 1;
                break;
            }
            if self.evals[id].is_none() {
                let bound = self.learnt_bound(id);
                if bound > queued {
                    queue.push(Reverse((bound.to_bits(), sum, id)));
                    continue;
                }
            }
            let e = self.evaluate(id);
            if e.anonymous && best.is_none_or(|(_, b)| e.metric < b.metric) {
                best = Some((id, e));
            }
        }
        let (id, eval) = best.ok_or(AnonError::NoSolution)?;
        let classes = self.classes_of(id);
        Ok(Solution {
            node: self.levels(id).to_vec(),
            classes,
            eval,
            stats: self.stats,
        })
    }

    /// Every node evaluated from the micro-classes directly: the brute-force reference.
    pub(crate) fn exhaustive(mut self) -> Vec<(Vec<u8>, NodeEval)> {
        (0..self.nodes)
            .map(|id| {
                let node = self.levels(id).to_vec();
                let classes = self.enc.roll_up(&node, &self.micro, &mut self.table);
                (node, self.judge(id, &classes))
            })
            .collect()
    }
}
