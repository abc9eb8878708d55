//! `steward privacy anonymize`: reads a delimited table and hierarchies, runs the optimal
//! lattice search or Mondrian from `steward_privacy::anon`, writes the release and a JSON
//! report (the report's shape is defined here, at the edge).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use serde_json::json;
use steward_privacy::anon::{
    self, Algorithm, AnonError, Config, Criteria, Hierarchy, LDiversity, MondrianMode,
    QuasiIdentifier, RiskModel, TCloseness, Table, UtilityMetric,
};

use crate::Global;
use crate::output::{Failure, emit, print_json};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AlgorithmArg {
    Optimal,
    Mondrian,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MetricArg {
    Loss,
    Discernibility,
    Aecs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Strict,
    Relaxed,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LKindArg {
    Distinct,
    Entropy,
    Recursive,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TKindArg {
    Equal,
    Ordered,
}

#[derive(clap::Args, Debug)]
pub struct AnonymizeArgs {
    /// The table: delimited text with a header line.
    #[arg(long, value_name = "CSV")]
    pub input: PathBuf,
    /// Field separator of the table and of hierarchy files.
    #[arg(long, default_value = ",", value_parser = parse_sep)]
    pub sep: u8,
    /// Quasi-identifiers, `NAME=SPEC` separated by commas or repeated. SPEC is an ARX hierarchy
    /// file, `bands:5/10/20` (integer bands, each width dividing the next), `top:N` (N most
    /// frequent values, the rest `Other`) or `flat` (value or `*`).
    #[arg(
        long = "qi",
        value_name = "NAME=SPEC",
        value_delimiter = ',',
        required = true
    )]
    pub qi: Vec<String>,
    /// The sensitive column protected by l-diversity and t-closeness.
    #[arg(long)]
    pub sensitive: Option<String>,
    #[arg(long)]
    pub k: usize,
    /// l-diversity of the sensitive column.
    #[arg(long)]
    pub l: Option<f64>,
    #[arg(long, value_enum, default_value = "distinct")]
    pub l_kind: LKindArg,
    /// The c of recursive-(c,l)-diversity.
    #[arg(long, default_value_t = 3.0)]
    pub c: f64,
    /// t-closeness of the sensitive column.
    #[arg(long)]
    pub t: Option<f64>,
    #[arg(long, value_enum, default_value = "equal")]
    pub t_kind: TKindArg,
    /// Largest share of rows that may be suppressed (optimal search only).
    #[arg(long, default_value_t = 0.0)]
    pub suppress: f64,
    #[arg(long, value_enum, default_value = "optimal")]
    pub algorithm: AlgorithmArg,
    /// Utility metric the optimal search minimizes.
    #[arg(long, value_enum, default_value = "loss")]
    pub metric: MetricArg,
    /// Mondrian's treatment of rows at the median.
    #[arg(long, value_enum, default_value = "strict")]
    pub mode: ModeArg,
    /// Records whose re-identification risk exceeds this are reported as at risk.
    #[arg(long, default_value_t = 0.2)]
    pub risk_threshold: f64,
    /// Sampling fraction of the table in its population (journalist and marketer risk).
    #[arg(long, default_value_t = 1.0)]
    pub population_fraction: f64,
    /// Where to write the released table (suppressed rows are left out).
    #[arg(long, value_name = "OUT.csv")]
    pub out: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, value_name = "REPORT.json")]
    pub report: Option<PathBuf>,
}

fn parse_sep(s: &str) -> Result<u8, String> {
    let s = match s {
        "\\t" | "tab" => "\t",
        other => other,
    };
    match s.as_bytes() {
        [b] if b.is_ascii() && *b != b'"' && *b != b'\n' => Ok(*b),
        _ => Err(format!(
            "the separator must be one ASCII character, got `{s}`"
        )),
    }
}

fn anon_failure(e: AnonError) -> Failure {
    match e {
        AnonError::NoSolution => Failure::denied(e.code(), e),
        e => Failure::bad_input(e.code(), e),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::bad_input("io.read", format!("cannot read `{}`: {e}", path.display()))
    })
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| {
        Failure::bad_input(
            "io.write",
            format!("cannot write `{}`: {e}", path.display()),
        )
    })
}

fn hierarchy(table: &Table, name: &str, spec: &str, sep: u8) -> Result<Hierarchy, Failure> {
    let column = table.column_index(name).map_err(anon_failure)?;
    let values = || table.value_counts(column);
    let h = if spec == "flat" {
        let vals: Vec<String> = values().into_iter().map(|(v, _)| v).collect();
        Hierarchy::flat(name, &vals)
    } else if let Some(n) = spec.strip_prefix("top:") {
        let n: usize = n.parse().map_err(|_| {
            Failure::bad_input(
                "anon.invalid_rule",
                format!("`top:` needs a count, got `{spec}`"),
            )
        })?;
        Hierarchy::top_n(name, &values(), n)
    } else if let Some(widths) = spec.strip_prefix("bands:") {
        let widths: Result<Vec<i64>, _> = widths.split('/').map(str::parse).collect();
        let widths = widths.map_err(|_| {
            Failure::bad_input(
                "anon.invalid_rule",
                format!("`bands:` needs widths like 5/10/20, got `{spec}`"),
            )
        })?;
        let mut nums = Vec::new();
        for (v, _) in values() {
            let n: i64 = v.trim().parse().map_err(|_| {
                Failure::bad_input(
                    "anon.invalid_rule",
                    format!("column `{name}` has the non-integer value `{v}`; bands need integers"),
                )
            })?;
            nums.push(n);
        }
        Hierarchy::intervals(name, &nums, &widths)
    } else {
        Hierarchy::parse_arx(name, &read(Path::new(spec))?, sep)
    };
    h.map_err(anon_failure)
}

fn risk_json(r: &RiskModel) -> serde_json::Value {
    json!({ "highest": r.highest, "average": r.average, "records_at_risk": r.records_at_risk })
}

pub fn anonymize(args: AnonymizeArgs, global: &Global) -> Result<ExitCode, Failure> {
    let table = Table::parse(&read(&args.input)?, args.sep).map_err(anon_failure)?;
    let mut quasi_identifiers = Vec::with_capacity(args.qi.len());
    for spec in &args.qi {
        let Some((name, rule)) = spec.split_once('=') else {
            return Err(Failure::bad_input(
                "anon.invalid_rule",
                format!("`--qi {spec}` must be NAME=SPEC"),
            ));
        };
        quasi_identifiers.push(QuasiIdentifier {
            column: name.to_owned(),
            hierarchy: hierarchy(&table, name, rule, args.sep)?,
        });
    }
    let l_diversity = match args.l {
        None => None,
        Some(l) => Some(match args.l_kind {
            LKindArg::Distinct | LKindArg::Recursive if l.fract() != 0.0 || l < 0.0 => {
                return Err(Failure::bad_input(
                    "anon.invalid_parameter",
                    format!("l must be a whole number for this kind, got {l}"),
                ));
            }
            LKindArg::Distinct => LDiversity::Distinct(l as usize),
            LKindArg::Entropy => LDiversity::Entropy(l),
            LKindArg::Recursive => LDiversity::Recursive {
                c: args.c,
                l: l as usize,
            },
        }),
    };
    let t_closeness = args.t.map(|t| match args.t_kind {
        TKindArg::Equal => TCloseness::EqualDistance(t),
        TKindArg::Ordered => TCloseness::OrderedDistance(t),
    });
    let algorithm = match args.algorithm {
        AlgorithmArg::Optimal => Algorithm::Optimal(match args.metric {
            MetricArg::Loss => UtilityMetric::Loss,
            MetricArg::Discernibility => UtilityMetric::Discernibility,
            MetricArg::Aecs => UtilityMetric::AverageClassSize,
        }),
        AlgorithmArg::Mondrian => Algorithm::Mondrian(match args.mode {
            ModeArg::Strict => MondrianMode::Strict,
            ModeArg::Relaxed => MondrianMode::Relaxed,
        }),
    };
    if matches!(algorithm, Algorithm::Mondrian(_)) && args.suppress > 0.0 {
        return Err(Failure::bad_input(
            "anon.invalid_parameter",
            "Mondrian never suppresses; drop --suppress or use --algorithm optimal",
        ));
    }
    let config = Config {
        quasi_identifiers,
        sensitive: args.sensitive.clone(),
        criteria: Criteria {
            k: args.k,
            l_diversity,
            t_closeness,
            max_suppression: args.suppress,
        },
        algorithm,
        risk_threshold: args.risk_threshold,
        population_fraction: args.population_fraction,
    };
    let released = anon::anonymize(&table, &config).map_err(anon_failure)?;
    write(&args.out, &released.to_csv(args.sep))?;

    let m = &released.metrics;
    let node = released.node.as_ref().map(|levels| {
        config
            .quasi_identifiers
            .iter()
            .zip(levels)
            .map(|(q, &l)| (q.column.clone(), json!(l)))
            .collect::<serde_json::Map<_, _>>()
    });
    let report = json!({
        "input": args.input.display().to_string(),
        "output": args.out.display().to_string(),
        "algorithm": match config.algorithm {
            Algorithm::Optimal(m) => format!("optimal ({m:?})"),
            Algorithm::Mondrian(mode) => format!("mondrian ({mode:?})"),
        },
        "criteria": {
            "k": args.k,
            "l": args.l.map(|l| json!({ "kind": format!("{:?}", args.l_kind).to_lowercase(), "l": l, "c": args.c })),
            "t": args.t.map(|t| json!({ "kind": format!("{:?}", args.t_kind).to_lowercase(), "t": t })),
            "max_suppression": args.suppress,
        },
        "generalization": node,
        "objective": released.objective,
        "search": released.stats.as_ref().map(|s| json!({
            "lattice_nodes": s.lattice_nodes,
            "evaluated": s.evaluated,
            "tagged": s.tagged,
            "bounded": s.bounded,
            "micro_classes": s.micro_classes,
        })),
        "seconds": released.algorithm_seconds,
        "metrics": {
            "rows": m.rows,
            "released": m.released,
            "suppressed": m.suppressed,
            "suppression_rate": m.suppression_rate,
            "classes": m.classes,
            "min_class": m.min_class,
            "max_class": m.max_class,
            "avg_class": m.avg_class,
            "c_avg": m.c_avg,
            "discernibility": m.discernibility,
            "ncp": m.ncp.iter().map(|(c, v)| (c.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "gcp": m.gcp,
        },
        "risk": {
            "threshold": released.risk.threshold,
            "population_fraction": released.risk.population_fraction,
            "prosecutor": risk_json(&released.risk.prosecutor),
            "journalist": risk_json(&released.risk.journalist),
            "marketer": risk_json(&released.risk.marketer),
        },
    });
    if let Some(path) = &args.report {
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| Failure::Internal(e.into()))?;
        write(path, &(text + "\n"))?;
    }
    if global.json {
        print_json(&report)?;
    } else {
        emit(&format!(
            "released {} of {} rows ({} suppressed) in {} classes; min class {}, C_avg {:.3}, \
             discernibility {}, GCP {:.4}; prosecutor risk max {:.4} avg {:.4}\n",
            m.released,
            m.rows,
            m.suppressed,
            m.classes,
            m.min_class,
            m.c_avg,
            m.discernibility,
            m.gcp,
            released.risk.prosecutor.highest,
            released.risk.prosecutor.average,
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
