//! The ads benchmark (run by `scripts/bench-ads.sh`): audience estimates on the roaring index
//! against the equivalent indexed SQL `COUNT` on the same SQLite file, eligibility checks per
//! second, and DP grouped counts (contribution bounding, discrete Laplace, partition
//! selection) on an events CSV that the peer (PipelineDP) reads too; plus mean absolute error
//! against the true bounded counts at several ε. Prints one JSON line per measurement.
//!
//!   cargo bench -p steward-ads --bench ads -- [--members N] [--events FILE] [--dir DIR]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Instant;

use steward_ads::audience::{self, AdsConfig};
use steward_ads::campaign;
use steward_ads::{AudienceIndex, Eligibility, Expr, schema};
use steward_core::Policy;
use steward_ledger::Ledger;
use steward_privacy::dp::aggregate::release_open_domain;
use steward_privacy::dp::{
    CanonicalQuery, ContributionBound, DiscreteLaplace, Epsilon, NoiseKey, bounded_counts,
};
use steward_store::{Store, Value, vocab};

const NOW: i64 = 1_781_524_800_000;

const INDUSTRIES: &[&str] = &[
    "software",
    "finance",
    "healthcare",
    "education",
    "retail",
    "manufacturing",
    "consulting",
    "government",
    "telecommunications",
    "energy",
    "media",
    "legal",
    "real estate",
    "transportation",
    "hospitality",
    "biotechnology",
    "insurance",
    "construction",
    "nonprofit",
    "agriculture",
];
const REGIONS: &[&str] = &[
    "california",
    "new york",
    "texas",
    "ontario",
    "bavaria",
    "ile-de-france",
    "england",
    "maharashtra",
    "new south wales",
    "sao paulo",
    "catalonia",
    "lombardy",
    "tokyo",
    "seoul",
    "gauteng",
    "jalisco",
    "dublin",
    "north holland",
    "zurich",
    "stockholm",
];
const SKILLS: &[&str] = &[
    "python",
    "sql",
    "excel",
    "java",
    "rust",
    "sales",
    "negotiation",
    "accounting",
    "project management",
    "leadership",
    "marketing",
    "seo",
    "figma",
    "kubernetes",
    "aws",
    "data analysis",
    "machine learning",
    "customer service",
    "recruiting",
    "public speaking",
];

/// SplitMix64: deterministic generation.
struct Gen(u64);
impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Zipf-ish pick: smaller indices more likely.
    fn skewed(&mut self, n: usize) -> usize {
        let a = (self.next() % n as u64) as usize;
        let b = (self.next() % n as u64) as usize;
        a.min(b)
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn seed(store: &Store, members: i64) {
    let mut g = Gen(7);
    let mut rows = Vec::new();
    let mut skills = Vec::new();
    let mut consent = Vec::new();
    for i in 1..=members {
        rows.push(vec![
            Value::Int(i),
            Value::from("F"),
            Value::from("L"),
            Value::from(format!("m{i}@example.com").as_str()),
            Value::from("US"),
            Value::from("US"),
            Value::Int(0),
            Value::from(INDUSTRIES[g.skewed(INDUSTRIES.len())]),
            Value::from(vocab::SENIORITY[g.skewed(vocab::SENIORITY.len())]),
            Value::from(REGIONS[g.skewed(REGIONS.len())]),
            Value::from(vocab::JOB_FUNCTIONS[g.skewed(vocab::JOB_FUNCTIONS.len())]),
            Value::from(vocab::COMPANY_SIZE[g.skewed(vocab::COMPANY_SIZE.len())]),
            Value::Int((g.next() % 40) as i64),
        ]);
        let k = 1 + g.next() % 4;
        let mut mine: Vec<&str> = (0..k).map(|_| SKILLS[g.skewed(SKILLS.len())]).collect();
        mine.sort_unstable();
        mine.dedup();
        for s in mine {
            skills.push(vec![Value::Int(i), Value::from(s), Value::Int(0)]);
        }
        // 8 % have personalized ads off, 5 % have skills off, 20 % refuse matched lists.
        let r = g.next() % 100;
        // A member's refusal of one consent key, as the settings page records it.
        let off = |key: &str| {
            vec![
                Value::Int(i),
                Value::from(key),
                Value::from("off"),
                Value::Int(0),
                Value::from("member"),
            ]
        };
        if g.next().is_multiple_of(5) {
            consent.push(off("ads.third_party"));
        }
        if r < 8 {
            consent.push(off("ads.personalized"));
        } else if r < 13 {
            consent.push(off("ads.attr.skills"));
        }
    }
    store
        .transaction(|tx| {
            tx.insert_rows(
                "members",
                &[
                    "member_id", "first_name", "last_name", "email", "country", "jurisdiction",
                    "created_at", "industry", "seniority", "region", "job_function",
                    "company_size", "years_experience",
                ],
                &rows,
                "",
            )?;
            tx.insert_rows("skills", &["member_id", "skill", "endorsements"], &skills, "")?;
            tx.insert_rows("consent_events", &["member_id", "key", "value", "at", "actor"], &consent, "")?;
            tx.execute_batch(
                "CREATE INDEX IF NOT EXISTS ix_bench_members_attrs ON members (industry, seniority, region);
                 CREATE INDEX IF NOT EXISTS ix_bench_skills_skill ON skills (skill, member_id);
                 ANALYZE;",
            )?;
            Ok::<(), steward_store::StoreError>(())
        })
        .unwrap();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Median seconds of `n` runs of `f`.
fn time_median(n: usize, mut f: impl FnMut()) -> f64 {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f();
        v.push(t.elapsed().as_secs_f64());
    }
    median(v)
}

fn audiences(store: &Store, members: i64) {
    let policy = Policy::builtin().unwrap();
    let t = Instant::now();
    let index = AudienceIndex::build(store, &policy, NOW).unwrap();
    let build_s = t.elapsed().as_secs_f64();
    let key = store.transaction(schema::noise_key).unwrap();
    let config = AdsConfig::default();
    // The index as the server holds it: behind a read-write lock, read-locked per estimate.
    let shared = std::sync::RwLock::new(index);
    let text = "industry in (software, finance, consulting) and seniority in (director, vp, cxo) and not region = texas";
    // The peer: the same question as one SQL COUNT on the same SQLite file, answered from the
    // covering index (industry, seniority, region) after ANALYZE — no gate, no consent, no
    // noise: the straightforward way, and a lower bound on its cost.
    let sql = "SELECT COUNT(*) FROM members WHERE industry IN ('software', 'finance', 'consulting') \
               AND seniority IN ('director', 'vp', 'cxo') AND region <> 'texas'";
    let plan: Vec<String> = store
        .read(|tx| {
            let mut out = Vec::new();
            tx.query_each(&format!("EXPLAIN QUERY PLAN {sql}"), &[], |r| {
                out.push(r.get(3).as_str().unwrap_or("").to_owned());
                Ok::<(), steward_store::StoreError>(())
            })?;
            Ok::<_, steward_store::StoreError>(out)
        })
        .unwrap();
    // Ours, end to end from the text as a request brings it: lock, parse, count on the
    // bitmaps, canonical form, keyed-hash noise, rounding. Nothing is cached across calls.
    let mut reach = 0;
    let ours = time_median(1001, || {
        let index = shared.read().unwrap();
        let expr = Expr::parse(std::hint::black_box(text)).unwrap();
        let e = audience::estimate(&index, &key, &config, &expr).unwrap();
        reach = match e {
            audience::Estimate::About(n) => n,
            audience::Estimate::BelowMinimum { .. } => 0,
        };
    });
    let mut sql_count = 0;
    let peer = time_median(51, || {
        sql_count = store.read(|tx| tx.query_i64(sql, &[])).unwrap();
    });
    // Where our time goes, step by step (medians of separate runs).
    let index = shared.read().unwrap();
    let expr = Expr::parse(text).unwrap();
    let lock_s = time_median(1001, || {
        std::hint::black_box(shared.try_read().is_err());
    });
    let parse_s = time_median(1001, || {
        std::hint::black_box(Expr::parse(std::hint::black_box(text)).unwrap());
    });
    let mut exact = 0;
    let count_s = time_median(1001, || {
        exact = index.count(std::hint::black_box(&expr)).unwrap();
    });
    let evaluate_s = time_median(201, || {
        std::hint::black_box(index.evaluate(std::hint::black_box(&expr)).unwrap());
    });
    let canonical_s = time_median(1001, || {
        std::hint::black_box(expr.canonical());
    });
    let canonical = expr.canonical();
    let noise_s = time_median(1001, || {
        std::hint::black_box(
            audience::estimate_from_count(&key, &config, &canonical, std::hint::black_box(exact))
                .unwrap(),
        );
    });
    assert_eq!(index.evaluate(&expr).unwrap().len(), exact);
    drop(index);
    println!(
        "{}",
        serde_like(&[
            ("bench", "audience_estimate".into()),
            ("members", members.to_string()),
            ("index_build_s", format!("{build_s:.3}")),
            ("ours_ms", format!("{:.4}", ours * 1e3)),
            ("sql_count_ms", format!("{:.4}", peer * 1e3)),
            ("ratio", format!("{:.1}", peer / ours)),
            ("estimate", reach.to_string()),
            ("exact_gated", exact.to_string()),
            ("sql_count_without_consent", sql_count.to_string()),
            ("sql_plan", plan.join(" | ").replace('"', "'")),
        ])
    );
    println!(
        "{}",
        serde_like(&[
            ("bench", "audience_estimate_profile".into()),
            ("lock_us", format!("{:.2}", lock_s * 1e6)),
            ("parse_us", format!("{:.2}", parse_s * 1e6)),
            ("count_us", format!("{:.2}", count_s * 1e6)),
            (
                "evaluate_full_bitmap_us",
                format!("{:.2}", evaluate_s * 1e6)
            ),
            ("canonical_us", format!("{:.2}", canonical_s * 1e6)),
            ("noise_and_rounding_us", format!("{:.2}", noise_s * 1e6)),
        ])
    );
    let mut index = shared.into_inner().unwrap();

    // Keeping the index current: one member's change re-read through the gate for that
    // member only, against the full build above.
    let mut g = Gen(5);
    let apply_s = time_median(21, || {
        let m = 1 + (g.next() % members as u64) as i64;
        index.apply_change(store, &policy, m, NOW).unwrap();
    });
    println!(
        "{}",
        serde_like(&[
            ("bench", "apply_change".into()),
            ("members", members.to_string()),
            ("apply_change_ms", format!("{:.3}", apply_s * 1e3)),
            ("full_build_ms", format!("{:.1}", build_s * 1e3)),
        ])
    );
    let index = index;

    // Eligibility: one targeted campaign on that audience.
    let ledger = Ledger::new("bench");
    let campaign = store
        .transaction(|tx| {
            let a = audience::create(
                tx,
                &ledger,
                &index,
                &key,
                &config,
                "bench",
                "a",
                "not seniority in (cxo, owner)",
                NOW,
            )?;
            let c = campaign::create(
                tx,
                &ledger,
                &index,
                &config,
                "bench",
                "c",
                Some(a.audience.id),
                None,
                NOW,
            )?;
            campaign::launch(tx, &ledger, &index, &config, "bench", c.id, NOW)?;
            Ok::<_, steward_ads::AdsError>(c.id)
        })
        .unwrap();
    matched(store, &policy, &index, &key, &config, members);
    let elig = store.read(|tx| Eligibility::build(tx, &index)).unwrap();
    let mut g = Gen(11);
    let n = 20_000_000u64;
    let ids: Vec<i64> = (0..4096)
        .map(|_| 1 + (g.next() % members as u64) as i64)
        .collect();
    let t = Instant::now();
    let mut yes = 0u64;
    for i in 0..n {
        if elig.is_eligible(std::hint::black_box(ids[(i & 4095) as usize]), campaign) {
            yes += 1;
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_like(&[
            ("bench", "eligibility".into()),
            ("checks", n.to_string()),
            ("checks_per_s", format!("{:.0}", n as f64 / s)),
            ("ns_per_check", format!("{:.1}", s * 1e9 / n as f64)),
            ("eligible_share", format!("{:.3}", yes as f64 / n as f64)),
        ])
    );
}

fn serde_like(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| {
            if v.parse::<f64>().is_ok() {
                format!("\"{k}\": {v}")
            } else {
                format!("\"{k}\": \"{v}\"")
            }
        })
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// The bench query's open-domain release of `counts`.
fn release<K: Ord + Clone + ToString>(
    counts: &BTreeMap<K, i64>,
    key: &NoiseKey,
    eps: Epsilon,
    bound: ContributionBound,
    delta_per_partition: f64,
) -> Vec<(K, i64)> {
    let m = DiscreteLaplace::new(eps, bound.l1()).unwrap();
    let q = CanonicalQuery::new().with("bench", "grouped_counts");
    release_open_domain(counts, &m, key, &q, delta_per_partition)
}

fn dp(events: &str) {
    let text = std::fs::read_to_string(events).unwrap();
    let rows: Vec<(u64, String)> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (m, g) = l.split_once(',')?;
            Some((m.parse().ok()?, g.to_owned()))
        })
        .collect();
    let key = NoiseKey::from_bytes([1; 32]);
    let bound = ContributionBound {
        max_partitions: 4,
        max_per_partition: 10,
    };
    let delta = 1e-6;
    let eps = Epsilon::from_f64(1.0).unwrap();
    // δ split over the partitions one member can touch.
    let delta_per_partition = delta / f64::from(bound.max_partitions);
    // Timed: the in-memory rows to the released groups. The rows are read where they are, as
    // PipelineDP reads its list of tuples; `cloned_rows_s` is the same with every row's key
    // cloned first (what this benchmark timed until the keys were borrowed), for comparison.
    let mut released = 0;
    let s = time_median(11, || {
        let counts = bounded_counts(rows.iter().map(|(m, g)| (*m, g.as_str())), bound);
        released = release(&counts, &key, eps, bound, delta_per_partition).len();
    });
    let cloned_s = time_median(5, || {
        let counts: BTreeMap<String, i64> = bounded_counts(rows.iter().cloned(), bound);
        std::hint::black_box(release(&counts, &key, eps, bound, delta_per_partition));
    });
    let m = DiscreteLaplace::new(eps, bound.l1()).unwrap();
    println!(
        "{}",
        serde_like(&[
            ("system", "steward".into()),
            ("events", rows.len().to_string()),
            ("groups_released", released.to_string()),
            ("seconds", format!("{s:.6}")),
            ("events_per_s", format!("{:.0}", rows.len() as f64 / s)),
            ("cloned_rows_s", format!("{cloned_s:.6}")),
            ("scale", format!("{}", m.scale())),
            (
                "threshold",
                m.partition_threshold(delta_per_partition).to_string()
            ),
        ])
    );
    // Accuracy: mean absolute error of released noisy counts against the true bounded counts.
    let counts: BTreeMap<String, i64> = bounded_counts(rows.iter().cloned(), bound);
    for e in [0.1, 0.5, 1.0, 2.0] {
        let m = DiscreteLaplace::new(Epsilon::from_f64(e).unwrap(), bound.l1()).unwrap();
        let mut err = 0.0;
        let mut n = 0.0;
        for (k, &v) in &counts {
            let q = CanonicalQuery::new()
                .with("bench", "mae")
                .with("eps", e)
                .with("cell", k);
            err += (m.release(&mut key.rng(&q), v) - v).abs() as f64;
            n += 1.0;
        }
        println!(
            "{}",
            serde_like(&[
                ("bench", "dp_accuracy".into()),
                ("epsilon", format!("{e}")),
                ("mae", format!("{:.2}", err / n)),
                ("expected_mae", format!("{:.2}", m.expected_abs_error())),
                ("cells", (n as u64).to_string()),
            ])
        );
    }
}

/// A matched audience from 100,000 uploaded hashes (the most one list may carry): the gate
/// pass for emails with the hashing batched over every core and compared as bytes, against
/// the way it was done before: the same gate pass hashing each released email on one core and
/// comparing hex strings. Both in a transaction rolled back.
fn matched(
    store: &Store,
    policy: &Policy,
    index: &AudienceIndex,
    key: &steward_privacy::dp::NoiseKey,
    config: &AdsConfig,
    members: i64,
) {
    let salt = "bench-salt-2026";
    let mut g = Gen(13);
    let hashes: Vec<String> = (0..100_000)
        .map(|_| {
            let m = 1 + g.next() % members as u64;
            audience::contact_hash(salt, &format!("m{m}@example.com"))
        })
        .collect();
    let ledger = Ledger::new("bench");
    let mut estimate = String::new();
    let ours = time_median(5, || {
        let saved = store
            .read(|tx| {
                audience::create_matched(
                    tx, &ledger, policy, index, key, config, "bench", "list", salt, &hashes, NOW,
                )
            })
            .unwrap();
        estimate = saved.estimate.text();
    });
    // Before: the same gate pass, each released email hashed on this thread and compared as
    // hex.
    let wanted: std::collections::HashSet<&str> = hashes.iter().map(String::as_str).collect();
    let mut found = 0u64;
    let categories = [steward_ads::index::EMAIL_CATEGORY];
    let request = steward_store::gate::GateRequest {
        purpose: "ads.targeting",
        categories: &categories,
        form: steward_core::Form::Audience,
        at_ms: NOW,
    };
    let gated = time_median(3, || {
        found = 0;
        store
            .read(|tx| {
                steward_store::gate::read_in(tx, policy, &request, |r| {
                    if let steward_store::gate::GatedRecord::Profile(p) = r
                        && let Some(e) = &p.email
                        && wanted.contains(audience::contact_hash(salt, e).as_str())
                    {
                        found += 1;
                    }
                    Ok::<(), steward_ads::AdsError>(())
                })
            })
            .unwrap();
    });
    println!(
        "{}",
        serde_like(&[
            ("bench", "matched_audience".into()),
            ("members", members.to_string()),
            ("matchable", index.third_party().len().to_string()),
            ("hashes", hashes.len().to_string()),
            ("ours_ms", format!("{:.1}", ours * 1e3)),
            ("gate_pass_before_ms", format!("{:.1}", gated * 1e3)),
            ("ratio", format!("{:.1}", gated / ours)),
            ("estimate", estimate),
            ("matched_before_exact", found.to_string()),
        ])
    );
}

fn main() {
    if let Some(events) = arg("--events") {
        dp(&events);
    }
    if let Some(members) = arg("--members") {
        let members: i64 = members.parse().unwrap();
        let dir = arg("--dir")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        // v2: the seed refuses matched lists for some members.
        let path = dir.join(format!("bench-ads-v2-{members}.db"));
        let fresh = !path.exists();
        let store = Store::open(&format!("sqlite://{}", path.display())).unwrap();
        schema::install(&store).unwrap();
        if fresh {
            let t = Instant::now();
            seed(&store, members);
            eprintln!(
                "bench-ads: seeded {members} members in {:.1} s",
                t.elapsed().as_secs_f64()
            );
        } else {
            store
                .transaction(|tx| {
                    tx.execute_batch("DELETE FROM ads_campaigns; DELETE FROM ads_audiences; DELETE FROM ads_advertisers;")
                })
                .unwrap();
        }
        audiences(&store, members);
    }
}
