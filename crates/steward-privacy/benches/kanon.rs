//! k-anonymity benchmark (run by `scripts/bench-kanon.sh`): loads the table and hierarchies
//! once, times `anonymize` for each configuration (median of several repetitions), writes each
//! release for the independent pycanon check, and prints one JSON line per configuration.
//!
//! `cargo bench -p steward-privacy --bench kanon -- --data CSV --hierarchies DIR
//!  --qis a,b,.. --sensitive S --out DIR [--reps N] [--rows N]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Instant;

use steward_privacy::anon::{
    Algorithm, Config, Criteria, Hierarchy, LDiversity, MondrianMode, QuasiIdentifier, Table,
    UtilityMetric, anonymize,
};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(arg(&args, "--data").expect("--data"));
    let hier = PathBuf::from(arg(&args, "--hierarchies").expect("--hierarchies"));
    let qis: Vec<String> = arg(&args, "--qis")
        .expect("--qis")
        .split(',')
        .map(str::to_owned)
        .collect();
    let sensitive = arg(&args, "--sensitive").unwrap_or_else(|| "salary-class".into());
    let out = PathBuf::from(arg(&args, "--out").expect("--out"));
    let reps: usize = arg(&args, "--reps").map_or(7, |r| r.parse().unwrap());
    let max_rows: Option<usize> = arg(&args, "--rows").map(|r| r.parse().unwrap());
    // `--only optimal` runs the configurations whose name starts with it.
    let only = arg(&args, "--only").unwrap_or_default();
    std::fs::create_dir_all(&out).unwrap();

    let mut bytes = std::fs::read(&data).unwrap();
    if let Some(n) = max_rows {
        // Keep the header and the first n rows (the peer's sample takes the same rows).
        let mut lines = 0;
        if let Some(cut) = bytes.iter().position(|&b| {
            if b == b'\n' {
                lines += 1;
            }
            lines > n
        }) {
            bytes.truncate(cut + 1);
        }
    }
    let parse_start = Instant::now();
    let table = Table::parse(&bytes, b';').unwrap();
    let parse_seconds = parse_start.elapsed().as_secs_f64();
    let quasi_identifiers: Vec<QuasiIdentifier> = qis
        .iter()
        .map(|q| {
            let path = hier.join(format!("adult_hierarchy_{q}.csv"));
            let h = Hierarchy::parse_arx(q, &std::fs::read(&path).unwrap(), b';').unwrap();
            QuasiIdentifier {
                column: q.clone(),
                hierarchy: h,
            }
        })
        .collect();

    let runs: Vec<(&str, Algorithm, usize, Option<usize>, f64)> = vec![
        (
            "optimal-loss",
            Algorithm::Optimal(UtilityMetric::Loss),
            5,
            None,
            0.0,
        ),
        (
            "optimal-loss",
            Algorithm::Optimal(UtilityMetric::Loss),
            10,
            None,
            0.0,
        ),
        (
            "optimal-loss",
            Algorithm::Optimal(UtilityMetric::Loss),
            5,
            Some(2),
            0.0,
        ),
        (
            "optimal-loss",
            Algorithm::Optimal(UtilityMetric::Loss),
            5,
            None,
            0.01,
        ),
        (
            "optimal-dm",
            Algorithm::Optimal(UtilityMetric::Discernibility),
            5,
            None,
            0.0,
        ),
        (
            "optimal-dm",
            Algorithm::Optimal(UtilityMetric::Discernibility),
            5,
            None,
            0.01,
        ),
        (
            "optimal-aecs",
            Algorithm::Optimal(UtilityMetric::AverageClassSize),
            5,
            None,
            0.01,
        ),
        (
            "mondrian-strict",
            Algorithm::Mondrian(MondrianMode::Strict),
            5,
            None,
            0.0,
        ),
        (
            "mondrian-strict",
            Algorithm::Mondrian(MondrianMode::Strict),
            10,
            None,
            0.0,
        ),
        (
            "mondrian-strict",
            Algorithm::Mondrian(MondrianMode::Strict),
            5,
            Some(2),
            0.0,
        ),
        (
            "mondrian-relaxed",
            Algorithm::Mondrian(MondrianMode::Relaxed),
            5,
            None,
            0.0,
        ),
        (
            "mondrian-relaxed",
            Algorithm::Mondrian(MondrianMode::Relaxed),
            10,
            None,
            0.0,
        ),
        (
            "mondrian-relaxed",
            Algorithm::Mondrian(MondrianMode::Relaxed),
            5,
            Some(2),
            0.0,
        ),
    ];
    for (name, algorithm, k, l, suppress) in runs {
        if !name.starts_with(&only) {
            continue;
        }
        let only_suppress: Option<f64> = arg(&args, "--suppress").map(|s| s.parse().unwrap());
        if only_suppress.is_some_and(|s| s != suppress) {
            continue;
        }
        let config = Config {
            quasi_identifiers: quasi_identifiers.clone(),
            sensitive: Some(sensitive.clone()),
            criteria: Criteria {
                k,
                l_diversity: l.map(LDiversity::Distinct),
                t_closeness: None,
                max_suppression: suppress,
            },
            algorithm,
            risk_threshold: 0.2,
            population_fraction: 1.0,
        };
        // One untimed run first: page faults and allocator growth belong to no configuration.
        anonymize(&table, &config).unwrap();
        let mut times = Vec::with_capacity(reps);
        let mut algo_times = Vec::with_capacity(reps);
        let mut last = None;
        for _ in 0..reps {
            let start = Instant::now();
            let a = anonymize(&table, &config).unwrap();
            times.push(start.elapsed().as_secs_f64());
            algo_times.push(a.algorithm_seconds);
            last = Some(a);
        }
        let a = last.unwrap();
        times.sort_by(f64::total_cmp);
        algo_times.sort_by(f64::total_cmp);
        let file = out.join(format!(
            "{name}-k{k}{}-s{}.csv",
            l.map_or(String::new(), |l| format!("-l{l}")),
            (suppress * 100.0).round()
        ));
        std::fs::write(&file, a.to_csv(b';')).unwrap();
        let m = &a.metrics;
        let stats = a.stats.clone().unwrap_or_default();
        println!(
            "{{\"system\":\"steward-{name}\",\"rows\":{},\"qis\":{},\"k\":{k},\"l\":{},\"suppress\":{suppress},\"seconds\":{:.6},\"algorithm_seconds\":{:.6},\"parse_seconds\":{parse_seconds:.6},\"reps\":{reps},\"classes\":{},\"min_class\":{},\"avg_class\":{:.2},\"C_avg\":{:.3},\"DM\":{},\"suppressed\":{},\"suppression_rate\":{:.4},\"gcp\":{:.4},\"node\":{:?},\"evaluated\":{},\"lattice\":{},\"prosecutor_max\":{:.4},\"prosecutor_avg\":{:.4},\"at_risk\":{:.4},\"out\":{:?}}}",
            m.rows,
            qis.len(),
            l.unwrap_or(0),
            times[times.len() / 2],
            algo_times[algo_times.len() / 2],
            m.classes,
            m.min_class,
            m.avg_class,
            m.c_avg,
            m.discernibility,
            m.suppressed,
            m.suppression_rate,
            m.gcp,
            a.node.clone().unwrap_or_default(),
            stats.evaluated,
            stats.lattice_nodes,
            a.risk.prosecutor.highest,
            a.risk.prosecutor.average,
            a.risk.prosecutor.records_at_risk,
            file.display().to_string(),
        );
    }
}
