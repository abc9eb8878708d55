//! Property tests of k-anonymity, l-diversity and t-closeness on random small tables: every
//! release is re-checked by the independent checker, and the optimal search is compared with
//! a brute-force evaluation of the whole lattice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use steward_privacy::anon::{
    Algorithm, AnonError, Anonymized, Config, Criteria, Hierarchy, LDiversity, MondrianMode,
    QuasiIdentifier, TCloseness, Table, UtilityMetric, anonymize, checker, evaluate_lattice,
};

/// A random table: `qis` columns with small domains, a sensitive column, and per column a
/// hierarchy that halves the domain at each level.
#[derive(Debug, Clone)]
struct Case {
    domains: Vec<(u32, usize)>,
    rows: Vec<(Vec<u32>, u32)>,
    criteria: Criteria,
    metric: UtilityMetric,
}

fn hierarchy(name: &str, domain: u32, height: usize, numeric: bool) -> Hierarchy {
    let rows: Vec<Vec<String>> = (0..domain)
        .map(|v| {
            let mut r = vec![label(v, numeric)];
            for lvl in 1..height - 1 {
                r.push(format!("g{lvl}-{}", v >> lvl));
            }
            r.push("*".to_owned());
            r
        })
        .collect();
    Hierarchy::from_rows(name, &rows).unwrap()
}

fn label(v: u32, numeric: bool) -> String {
    if numeric {
        v.to_string()
    } else {
        format!("v{v}")
    }
}

fn criteria() -> impl Strategy<Value = Criteria> {
    let l = prop_oneof![
        Just(None),
        (1usize..4).prop_map(|l| Some(LDiversity::Distinct(l))),
        (1.0f64..2.5).prop_map(|l| Some(LDiversity::Entropy(l))),
        ((0.5f64..4.0), (1usize..3)).prop_map(|(c, l)| Some(LDiversity::Recursive { c, l })),
    ];
    let t = prop_oneof![
        3 => Just(None),
        1 => (0.2f64..0.9).prop_map(|t| Some(TCloseness::EqualDistance(t))),
        1 => (0.2f64..0.9).prop_map(|t| Some(TCloseness::OrderedDistance(t))),
    ];
    let s = prop_oneof![Just(0.0), Just(0.05), Just(0.2)];
    (1usize..5, l, t, s).prop_map(|(k, l_diversity, t_closeness, max_suppression)| Criteria {
        k,
        l_diversity,
        t_closeness,
        max_suppression,
    })
}

fn case() -> impl Strategy<Value = Case> {
    let domains = prop::collection::vec((2u32..7, 2usize..5), 1..4);
    (domains, 1usize..50, 1u32..4, criteria(), 0usize..3).prop_flat_map(
        |(domains, n, sens, criteria, metric)| {
            let row = (
                domains.iter().map(|&(d, _)| 0..d).collect::<Vec<_>>(),
                0..sens,
            );
            let metric = [
                UtilityMetric::Loss,
                UtilityMetric::Discernibility,
                UtilityMetric::AverageClassSize,
            ][metric];
            prop::collection::vec(row, n).prop_map(move |rows| Case {
                domains: domains.clone(),
                rows,
                criteria,
                metric,
            })
        },
    )
}

impl Case {
    fn header(&self) -> Vec<String> {
        let mut h: Vec<String> = (0..self.domains.len()).map(|q| format!("q{q}")).collect();
        h.push("s".to_owned());
        h
    }

    fn cells(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|(qs, s)| {
                let mut r: Vec<String> = qs
                    .iter()
                    .enumerate()
                    .map(|(q, &v)| label(v, q == 0))
                    .collect();
                r.push(format!("s{s}"));
                r
            })
            .collect()
    }

    fn config(&self, algorithm: Algorithm) -> Config {
        Config {
            quasi_identifiers: self
                .domains
                .iter()
                .enumerate()
                .map(|(q, &(d, h))| QuasiIdentifier {
                    column: format!("q{q}"),
                    hierarchy: hierarchy(&format!("q{q}"), d, h, q == 0),
                })
                .collect(),
            sensitive: Some("s".to_owned()),
            criteria: self.criteria,
            algorithm,
            risk_threshold: 0.2,
            population_fraction: 1.0,
        }
    }
}

fn released(a: &Anonymized) -> Vec<Vec<String>> {
    (0..a.rows())
        .map(|r| {
            (0..a.header().len())
                .map(|c| a.value(r, c).to_owned())
                .collect()
        })
        .collect()
}

/// The independent checker's verdict on a release against the criteria.
fn assert_release_ok(case: &Case, a: &Anonymized) {
    let header = case.header();
    let qis: Vec<String> = (0..case.domains.len()).map(|q| format!("q{q}")).collect();
    let qis: Vec<&str> = qis.iter().map(String::as_str).collect();
    let all_sensitive: Vec<String> = case.rows.iter().map(|(_, s)| format!("s{s}")).collect();
    let rows = released(a);
    let c = checker::check(&header, &rows, &qis, Some("s"), Some(&all_sensitive)).unwrap();
    let n = case.rows.len();
    let budget = (case.criteria.max_suppression * n as f64 + 1e-9).floor() as usize;
    assert_eq!(c.rows + a.suppressed_rows().len(), n);
    assert!(
        a.suppressed_rows().len() <= budget,
        "suppression over budget"
    );
    assert_eq!(a.metrics.classes, c.classes);
    if c.rows == 0 {
        return;
    }
    assert!(
        c.k >= case.criteria.k,
        "checker k {} < {}",
        c.k,
        case.criteria.k
    );
    assert_eq!(a.metrics.min_class, c.k);
    match case.criteria.l_diversity {
        Some(LDiversity::Distinct(l)) => assert!(c.l_distinct() >= l),
        Some(LDiversity::Entropy(l)) => assert!(c.l_entropy() >= l - 1e-9),
        Some(LDiversity::Recursive { c: cc, l }) => assert!(c.recursive(cc, l)),
        None => {}
    }
    match case.criteria.t_closeness {
        Some(TCloseness::EqualDistance(t)) => assert!(c.t_equal() <= t + 1e-9),
        Some(TCloseness::OrderedDistance(t)) => assert!(c.t_ordered() <= t + 1e-9),
        None => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn optimal_release_passes_the_checker_and_matches_brute_force(case in case()) {
        let table = Table::from_rows(case.header(), &case.cells()).unwrap();
        let config = case.config(Algorithm::Optimal(case.metric));
        let lattice = evaluate_lattice(&table, &config).unwrap();
        let best = lattice
            .iter()
            .filter(|n| n.anonymous)
            .map(|n| n.metric)
            .fold(f64::INFINITY, f64::min);
        match anonymize(&table, &config) {
            Ok(a) => {
                assert_release_ok(&case, &a);
                let objective = a.objective.unwrap();
                // Never worse than any anonymous node of the lattice.
                prop_assert!(objective <= best + 1e-9, "search {objective} > brute force {best}");
                let node = a.node.clone().unwrap();
                let summary = lattice.iter().find(|n| n.levels == node).unwrap();
                prop_assert!(summary.anonymous);
                prop_assert!((summary.metric - objective).abs() < 1e-9);
                prop_assert_eq!(summary.suppressed, a.suppressed_rows().len());
            }
            Err(AnonError::NoSolution) => prop_assert!(best.is_infinite(), "missed a solution"),
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    #[test]
    fn anonymity_with_budget_is_monotone_for_k_and_distinct_l(case in case()) {
        let mut case = case;
        case.criteria.t_closeness = None;
        if !matches!(case.criteria.l_diversity, None | Some(LDiversity::Distinct(_))) {
            case.criteria.l_diversity = None;
        }
        let table = Table::from_rows(case.header(), &case.cells()).unwrap();
        let lattice = evaluate_lattice(&table, &case.config(Algorithm::Optimal(case.metric))).unwrap();
        for a in lattice.iter().filter(|n| n.anonymous) {
            for b in &lattice {
                if a.levels.iter().zip(&b.levels).all(|(x, y)| x <= y) {
                    prop_assert!(b.anonymous, "{:?} anonymous but {:?} not", a.levels, b.levels);
                    prop_assert!(b.suppressed <= a.suppressed);
                }
            }
        }
    }

    #[test]
    fn mondrian_partitions_pass_the_checker(case in case(), relaxed in any::<bool>()) {
        let mode = if relaxed { MondrianMode::Relaxed } else { MondrianMode::Strict };
        let table = Table::from_rows(case.header(), &case.cells()).unwrap();
        match anonymize(&table, &case.config(Algorithm::Mondrian(mode))) {
            Ok(a) => {
                prop_assert!(a.suppressed_rows().is_empty());
                assert_release_ok(&case, &a);
            }
            Err(AnonError::NoSolution) => {
                // Only when the whole table, as one class, fails the criteria.
                let header = case.header();
                let one: Vec<Vec<String>> = case
                    .cells()
                    .into_iter()
                    .map(|mut r| {
                        for c in r.iter_mut().take(case.domains.len()) {
                            *c = "*".to_owned();
                        }
                        r
                    })
                    .collect();
                let c = checker::check(&header, &one, &["q0"], Some("s"), None).unwrap();
                let fails = c.k < case.criteria.k
                    || match case.criteria.l_diversity {
                        Some(LDiversity::Distinct(l)) => c.l_distinct() < l,
                        Some(LDiversity::Entropy(l)) => c.l_entropy() < l - 1e-9,
                        Some(LDiversity::Recursive { c: cc, l }) => !c.recursive(cc, l),
                        None => false,
                    };
                prop_assert!(fails || case.criteria.t_closeness.is_some());
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Any bytes: the parsers answer with a table, a hierarchy or a typed error, never a panic,
    /// and whatever parses can be anonymized without panicking.
    #[test]
    fn parsers_and_anonymize_never_panic(
        table_bytes in prop::collection::vec(prop_oneof![Just(b';'), Just(b'\n'), Just(b'a'), Just(b'b'), Just(0xffu8), any::<u8>()], 0..80),
        hier_bytes in prop::collection::vec(prop_oneof![Just(b';'), Just(b'\n'), Just(b'a'), Just(b'*'), any::<u8>()], 0..40),
        k in 0usize..4,
        mondrian in any::<bool>(),
    ) {
        let table = Table::parse(&table_bytes, b';');
        let hierarchy = Hierarchy::parse_arx("h", &hier_bytes, b';');
        if let (Ok(table), Ok(hierarchy)) = (table, hierarchy) {
            let column = table.header()[0].clone();
            let config = Config {
                quasi_identifiers: vec![QuasiIdentifier { column, hierarchy }],
                sensitive: None,
                criteria: Criteria::k_anonymity(k),
                algorithm: if mondrian {
                    Algorithm::Mondrian(MondrianMode::Relaxed)
                } else {
                    Algorithm::Optimal(UtilityMetric::Discernibility)
                },
                risk_threshold: 0.2,
                population_fraction: 1.0,
            };
            if let Err(e) = anonymize(&table, &config) {
                prop_assert!(e.code().starts_with("anon."));
            }
        }
    }
}
