//! k-anonymity end to end on the small table in `tests/data/anon/`, and every refusal: each
//! bad input gives its stable error code, never a panic. Releases are re-checked by the
//! independent checker.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use steward_privacy::anon::{
    Algorithm, AnonError, Anonymized, Config, Criteria, Hierarchy, LDiversity, MondrianMode,
    QuasiIdentifier, TCloseness, Table, UtilityMetric, anonymize, checker,
};

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/anon")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn people() -> Table {
    Table::parse(&data("people.csv"), b';').unwrap()
}

fn quasi_identifiers(table: &Table) -> Vec<QuasiIdentifier> {
    let ages: Vec<i64> = (0..table.rows())
        .map(|r| table.value(r, 0).parse().unwrap())
        .collect();
    vec![
        QuasiIdentifier {
            column: "age".into(),
            hierarchy: Hierarchy::intervals("age", &ages, &[5, 10, 20]).unwrap(),
        },
        QuasiIdentifier {
            column: "zip".into(),
            hierarchy: Hierarchy::parse_arx("zip", &data("zip.csv"), b';').unwrap(),
        },
        QuasiIdentifier {
            column: "sex".into(),
            hierarchy: Hierarchy::parse_arx("sex", &data("sex.csv"), b';').unwrap(),
        },
    ]
}

fn config(table: &Table, criteria: Criteria, algorithm: Algorithm) -> Config {
    Config {
        quasi_identifiers: quasi_identifiers(table),
        sensitive: Some("diagnosis".into()),
        criteria,
        algorithm,
        risk_threshold: 0.2,
        population_fraction: 1.0,
    }
}

/// The checker's view of a release: (rows, classes, k, distinct l, equal-distance t).
fn recheck(table: &Table, a: &Anonymized) -> (usize, usize, usize, usize, f64) {
    let rows: Vec<Vec<String>> = (0..a.rows())
        .map(|r| (0..4).map(|c| a.value(r, c).to_owned()).collect())
        .collect();
    let reference: Vec<String> = (0..table.rows())
        .map(|r| table.value(r, 3).to_owned())
        .collect();
    let c = checker::check(
        table.header(),
        &rows,
        &["age", "zip", "sex"],
        Some("diagnosis"),
        Some(&reference),
    )
    .unwrap();
    (c.rows, c.classes, c.k, c.l_distinct(), c.t_equal())
}

#[test]
fn optimal_search_on_the_sample_table_is_confirmed_by_the_checker() {
    let table = people();
    for metric in [
        UtilityMetric::Loss,
        UtilityMetric::Discernibility,
        UtilityMetric::AverageClassSize,
    ] {
        for (k, l, suppress) in [(2, None, 0.0), (3, Some(2), 0.0), (4, Some(2), 0.1)] {
            let criteria = Criteria {
                k,
                l_diversity: l.map(LDiversity::Distinct),
                t_closeness: None,
                max_suppression: suppress,
            };
            let a = anonymize(
                &table,
                &config(&table, criteria, Algorithm::Optimal(metric)),
            )
            .unwrap();
            let (rows, classes, got_k, got_l, _) = recheck(&table, &a);
            assert_eq!(rows + a.suppressed_rows().len(), 60);
            assert!(a.suppressed_rows().len() <= (suppress * 60.0) as usize);
            assert!(got_k >= k, "{metric:?} k={k}: checker found {got_k}");
            assert!(got_l >= l.unwrap_or(1));
            assert_eq!(classes, a.metrics.classes);
            assert_eq!(got_k, a.metrics.min_class);
            assert!(a.node.is_some() && a.objective.is_some());
        }
    }
}

#[test]
fn mondrian_on_the_sample_table_is_confirmed_by_the_checker() {
    let table = people();
    for mode in [MondrianMode::Strict, MondrianMode::Relaxed] {
        let criteria = Criteria {
            k: 3,
            l_diversity: Some(LDiversity::Distinct(2)),
            t_closeness: Some(TCloseness::EqualDistance(0.6)),
            max_suppression: 0.0,
        };
        let a = anonymize(&table, &config(&table, criteria, Algorithm::Mondrian(mode))).unwrap();
        let (rows, classes, k, l, t) = recheck(&table, &a);
        assert_eq!(rows, 60);
        assert!(k >= 3 && l >= 2 && t <= 0.6 + 1e-9, "k={k} l={l} t={t}");
        assert!(classes > 1, "Mondrian should split a 60-row table");
        assert_eq!(classes, a.metrics.classes);
    }
}

#[test]
fn generalized_values_come_from_the_hierarchy() {
    let table = people();
    let a = anonymize(
        &table,
        &config(
            &table,
            Criteria::k_anonymity(5),
            Algorithm::Optimal(UtilityMetric::Loss),
        ),
    )
    .unwrap();
    let (_, classes, k, _, _) = recheck(&table, &a);
    assert!(k >= 5);
    assert_eq!(classes, a.metrics.classes);
    let node = a.node.clone().unwrap();
    let zip = Hierarchy::parse_arx("zip", &data("zip.csv"), b';').unwrap();
    for (out_row, &in_row) in a.released_rows().iter().enumerate() {
        assert_eq!(
            Some(a.value(out_row, 1)),
            zip.generalize(table.value(in_row, 1), node[1])
        );
        assert_eq!(
            a.value(out_row, 3),
            table.value(in_row, 3),
            "sensitive kept as is"
        );
    }
    // Risk follows from the classes: the prosecutor's worst case is 1 / smallest class.
    assert!((a.risk.prosecutor.highest - 1.0 / a.metrics.min_class as f64).abs() < 1e-12);
    assert!(a.metrics.gcp > 0.0 && a.metrics.gcp <= 1.0);
}

#[test]
fn csv_output_round_trips_through_the_parser() {
    let table = people();
    let a = anonymize(
        &table,
        &config(
            &table,
            Criteria::k_anonymity(3),
            Algorithm::Mondrian(MondrianMode::Strict),
        ),
    )
    .unwrap();
    assert!(recheck(&table, &a).2 >= 3);
    // `;` never occurs in Mondrian's `,`-joined value sets, so the output parses back.
    let back = Table::parse(a.to_csv(b';').as_bytes(), b';').unwrap();
    assert_eq!(back.rows(), a.rows());
    assert_eq!(back.value(0, 1), a.value(0, 1));
}

fn error_of(r: Result<Anonymized, AnonError>) -> &'static str {
    r.map(|_| ()).unwrap_err().code()
}

#[test]
fn bad_tables_are_refused_with_stable_codes() {
    for (file, code) in [
        ("err/ragged.csv", "anon.ragged_row"),
        ("err/invalid_utf8.csv", "anon.invalid_utf8"),
    ] {
        assert_eq!(
            Table::parse(&data(file), b';').unwrap_err().code(),
            code,
            "{file}"
        );
    }
    let table = Table::parse(&data("err/unknown_value.csv"), b';').unwrap();
    let mut cfg = config(
        &people(),
        Criteria::k_anonymity(2),
        Algorithm::Optimal(UtilityMetric::Loss),
    );
    cfg.quasi_identifiers.retain(|q| q.column == "zip");
    assert_eq!(error_of(anonymize(&table, &cfg)), "anon.unknown_value");
}

#[test]
fn bad_hierarchies_are_refused_with_stable_codes() {
    for (file, code) in [
        ("err/zip_heights.csv", "anon.hierarchy_height"),
        ("err/zip_inconsistent.csv", "anon.hierarchy_inconsistent"),
        ("err/zip_duplicate.csv", "anon.hierarchy_duplicate"),
    ] {
        let e = Hierarchy::parse_arx("zip", &data(file), b';').unwrap_err();
        assert_eq!(e.code(), code, "{file}");
    }
    assert_eq!(
        Hierarchy::parse_arx("zip", b"\xfe;*\n", b';')
            .unwrap_err()
            .code(),
        "anon.invalid_utf8"
    );
}

#[test]
fn bad_parameters_are_refused_with_stable_codes() {
    let table = people();
    let optimal = Algorithm::Optimal(UtilityMetric::Loss);
    let run = |criteria: Criteria, algorithm: Algorithm| {
        error_of(anonymize(&table, &config(&table, criteria, algorithm)))
    };
    for algorithm in [optimal, Algorithm::Mondrian(MondrianMode::Strict)] {
        assert_eq!(
            run(Criteria::k_anonymity(0), algorithm),
            "anon.invalid_parameter"
        );
        // More rows than the table: nothing can be released without suppressing everything.
        assert_eq!(
            run(Criteria::k_anonymity(61), algorithm),
            "anon.no_solution"
        );
    }
    let mut c = Criteria::k_anonymity(2);
    c.max_suppression = -0.1;
    assert_eq!(run(c, optimal), "anon.invalid_parameter");

    let mut cfg = config(&table, Criteria::k_anonymity(2), optimal);
    cfg.quasi_identifiers[0].column = "nope".into();
    assert_eq!(error_of(anonymize(&table, &cfg)), "anon.unknown_column");

    let mut cfg = config(&table, Criteria::k_anonymity(2), optimal);
    cfg.sensitive = Some("zip".into());
    assert_eq!(error_of(anonymize(&table, &cfg)), "anon.duplicate_column");

    let mut cfg = config(&table, Criteria::k_anonymity(2), optimal);
    cfg.sensitive = None;
    cfg.criteria.l_diversity = Some(LDiversity::Distinct(2));
    assert_eq!(error_of(anonymize(&table, &cfg)), "anon.invalid_parameter");

    let mut cfg = config(&table, Criteria::k_anonymity(2), optimal);
    cfg.risk_threshold = 0.0;
    assert_eq!(error_of(anonymize(&table, &cfg)), "anon.invalid_parameter");
}

#[test]
fn suppression_budget_is_used_exactly_up_to_its_limit() {
    // Two outliers: k=2 without suppression must generalize; with a budget of 2 rows of 10 it
    // may suppress them instead and keep the values exact.
    let header: Vec<String> = vec!["q".into(), "s".into()];
    let mut rows: Vec<Vec<String>> = (0..8)
        .map(|i| vec![format!("v{}", i % 2), "x".into()])
        .collect();
    rows.push(vec!["v2".into(), "x".into()]);
    rows.push(vec!["v3".into(), "x".into()]);
    let table = Table::from_rows(header, &rows).unwrap();
    let h = Hierarchy::from_rows(
        "q",
        &(0..4)
            .map(|i| vec![format!("v{i}"), "*".to_owned()])
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let cfg = |s: f64| Config {
        quasi_identifiers: vec![QuasiIdentifier {
            column: "q".into(),
            hierarchy: h.clone(),
        }],
        sensitive: None,
        criteria: Criteria {
            k: 2,
            l_diversity: None,
            t_closeness: None,
            max_suppression: s,
        },
        algorithm: Algorithm::Optimal(UtilityMetric::Loss),
        risk_threshold: 0.5,
        population_fraction: 1.0,
    };
    let k_of = |a: &Anonymized| {
        let rows: Vec<Vec<String>> = (0..a.rows())
            .map(|r| vec![a.value(r, 0).to_owned(), a.value(r, 1).to_owned()])
            .collect();
        checker::check(a.header(), &rows, &["q"], None, None)
            .unwrap()
            .k
    };
    let strict = anonymize(&table, &cfg(0.0)).unwrap();
    assert_eq!(k_of(&strict), 10);
    assert_eq!(strict.node, Some(vec![1]));
    assert!(strict.suppressed_rows().is_empty());
    let budget = anonymize(&table, &cfg(0.2)).unwrap();
    assert_eq!(budget.node, Some(vec![0]));
    assert_eq!(budget.suppressed_rows(), &[8, 9]);
    assert_eq!(k_of(&budget), 4);
    // 0.19 of 10 rows is one row: not enough, so generalize again.
    let short = anonymize(&table, &cfg(0.19)).unwrap();
    assert_eq!(short.node, Some(vec![1]));
}
