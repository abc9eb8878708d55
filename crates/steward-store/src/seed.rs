//! The deterministic network generator behind `steward seed`.
//!
//! Same seed, same network, byte for byte: one ChaCha8 stream drives every choice in a fixed
//! order, times are offsets from a fixed epoch (never the clock), and nothing iterates a hash
//! map. The network is meant to look real to the pipelines that read it: names from real
//! first-name and census surname lists, occupations from O*NET, skills from ESCO, industries
//! from NAICS (see `data/` and THIRD_PARTY.md), power-law connection degrees and activity,
//! posts across visibilities with PII embedded in some free text, members across jurisdictions,
//! consent states, ages (a small share of minors) and deletions, conversations with messages,
//! a few phishing links and EICAR test files, and **canary tokens** planted in private content
//! (messages, attachments, private notes, closed-group posts). Canaries are written to a
//! registry file beside the database — never into it outside the sealed columns — so the canary
//! audit can later prove none leaked into any output.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use sha2::{Digest, Sha256};

use crate::db::{Store, Tx};
use crate::error::StoreError;
use crate::schema::{SECTIONS, TABLES};
use crate::seal::{SealContext, Sealer};
use crate::value::Value;
use crate::vocab::{self, COMPANY_SIZE, SENIORITY};

const FEMALE: &str = include_str!("../data/first_names_female.txt");
const MALE: &str = include_str!("../data/first_names_male.txt");
const LAST: &str = include_str!("../data/last_names.txt");
const OCCUPATIONS: &str = include_str!("../data/occupations.tsv");
const SKILLS: &str = include_str!("../data/skills.txt");
const INDUSTRIES: &str = include_str!("../data/industries.tsv");

/// The standard EICAR anti-malware test file (harmless by design; scanners must flag it),
/// assembled at run time so this source file itself never carries the signature.
pub fn eicar() -> String {
    let head = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR";
    let tail = "-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    format!("{head}{tail}")
}

/// 2026-01-01T00:00:00Z: every generated time is before it.
pub const SEED_EPOCH_MS: i64 = 1_767_225_600_000;
const YEAR_MS: i64 = 31_556_952_000;

/// What to generate.
#[derive(Clone, Debug)]
pub struct SeedConfig {
    pub members: u32,
    pub seed: u64,
    /// Where the canary registry goes (JSON lines), outside the database.
    pub canary_path: PathBuf,
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Rows inserted per table, in table order.
    pub rows: Vec<(&'static str, u64)>,
    pub canaries: u64,
    pub canary_path: PathBuf,
}

impl SeedReport {
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }
}

/// Where the canary registry of a store lives by default: beside a SQLite file
/// (`steward.db.canaries.jsonl`), else in the working directory.
pub fn default_canary_path(store: &Store) -> PathBuf {
    match store.sqlite_path() {
        Some(p) => {
            let mut s = p.as_os_str().to_owned();
            s.push(".canaries.jsonl");
            PathBuf::from(s)
        }
        None => PathBuf::from("steward.canaries.jsonl"),
    }
}

fn lines(data: &'static str) -> Vec<&'static str> {
    data.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect()
}

fn tsv(data: &'static str) -> Vec<(&'static str, &'static str)> {
    lines(data)
        .into_iter()
        .filter_map(|l| l.split_once('\t'))
        .collect()
}

struct Vocab {
    female: Vec<&'static str>,
    male: Vec<&'static str>,
    last: Vec<&'static str>,
    occupations: Vec<(&'static str, &'static str)>,
    skills: Vec<&'static str>,
    industries: Vec<(&'static str, &'static str)>,
}

/// Country, weight, cities with their region, phone prefix.
type Geo = (
    &'static str,
    u32,
    &'static [(&'static str, &'static str)],
    &'static str,
);

const GEO: &[Geo] = &[
    (
        "US",
        28,
        &[
            ("San Francisco", "California"),
            ("New York", "New York"),
            ("Austin", "Texas"),
            ("Chicago", "Illinois"),
            ("Seattle", "Washington"),
            ("Boston", "Massachusetts"),
        ],
        "+1",
    ),
    (
        "IN",
        15,
        &[
            ("Bengaluru", "Karnataka"),
            ("Mumbai", "Maharashtra"),
            ("Hyderabad", "Telangana"),
            ("Pune", "Maharashtra"),
        ],
        "+91",
    ),
    (
        "BR",
        7,
        &[
            ("São Paulo", "São Paulo"),
            ("Rio de Janeiro", "Rio de Janeiro"),
            ("Belo Horizonte", "Minas Gerais"),
        ],
        "+55",
    ),
    (
        "GB",
        8,
        &[
            ("London", "England"),
            ("Manchester", "England"),
            ("Edinburgh", "Scotland"),
        ],
        "+44",
    ),
    (
        "DE",
        7,
        &[
            ("Berlin", "Berlin"),
            ("Munich", "Bavaria"),
            ("Hamburg", "Hamburg"),
        ],
        "+49",
    ),
    (
        "FR",
        5,
        &[("Paris", "Île-de-France"), ("Lyon", "Auvergne-Rhône-Alpes")],
        "+33",
    ),
    (
        "NL",
        3,
        &[
            ("Amsterdam", "North Holland"),
            ("Rotterdam", "South Holland"),
        ],
        "+31",
    ),
    (
        "ES",
        3,
        &[("Madrid", "Madrid"), ("Barcelona", "Catalonia")],
        "+34",
    ),
    ("IT", 2, &[("Milan", "Lombardy"), ("Rome", "Lazio")], "+39"),
    ("SE", 2, &[("Stockholm", "Stockholm")], "+46"),
    ("PL", 2, &[("Warsaw", "Masovia")], "+48"),
    ("IE", 2, &[("Dublin", "Leinster")], "+353"),
    (
        "CH",
        2,
        &[("Zurich", "Zurich"), ("Geneva", "Geneva")],
        "+41",
    ),
    (
        "CA",
        5,
        &[("Toronto", "Ontario"), ("Vancouver", "British Columbia")],
        "+1",
    ),
    (
        "AU",
        3,
        &[("Sydney", "New South Wales"), ("Melbourne", "Victoria")],
        "+61",
    ),
    ("SG", 2, &[("Singapore", "Singapore")], "+65"),
    ("NG", 2, &[("Lagos", "Lagos")], "+234"),
    ("JP", 2, &[("Tokyo", "Tokyo")], "+81"),
];

const EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "proton.me",
    "icloud.com",
    "hotmail.com",
];
const COMPANY_SUFFIX: &[&str] = &[
    "Analytics",
    "Systems",
    "Labs",
    "Group",
    "Partners",
    "Health",
    "Logistics",
    "Capital",
    "Robotics",
    "Foods",
    "Energy",
    "Studios",
    "Consulting",
    "Software",
    "Manufacturing",
];
const DEGREES: &[&str] = &["BSc", "BA", "MSc", "MA", "MBA", "PhD", "BEng", "Diploma"];
const PHISHING: &[&str] = &[
    "http://paypa1-account-verify.com/login",
    "https://linkedln-security-check.net/confirm",
    "http://192.0.2.44/office365/signin",
    "https://bit.ly/3xK9pQz",
];

struct Gen {
    rng: ChaCha8Rng,
    sealer_scheme: String,
    canaries: Vec<String>,
}

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else {
            self.rng.random_range(0..n)
        }
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }
    fn pick<T: Copy>(&mut self, items: &[T], fallback: T) -> T {
        if items.is_empty() {
            fallback
        } else {
            items[self.below(items.len())]
        }
    }
    /// A heavy-tailed count with the given mean (discrete Pareto, shape 2), capped.
    fn power_law(&mut self, mean: f64, cap: u32) -> u32 {
        let u: f64 = self.rng.random::<f64>().max(1e-12);
        // Pareto with shape 2 and scale mean/2 has mean `mean`.
        let x = (mean / 2.0) / u.sqrt();
        (x.floor() as u32).min(cap)
    }
    fn time_between(&mut self, from: i64, to: i64) -> i64 {
        if to <= from {
            from
        } else {
            self.rng.random_range(from..to)
        }
    }
    fn canary(&mut self, kind: &str) -> String {
        let token = format!("CANARY-{}-{:016x}", kind, self.rng.random::<u64>());
        self.canaries.push(token.clone());
        token
    }
}

/// Rows waiting for insertion, per table.
/// A table's name, its columns and the rows waiting for it.
type PendingTable = (&'static str, Vec<&'static str>, Vec<Vec<Value>>);

struct Batch {
    tables: Vec<PendingTable>,
    pending: usize,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            tables: TABLES
                .iter()
                .map(|t| (t.name, t.column_names(), Vec::new()))
                .collect(),
            pending: 0,
        }
    }
    fn push(&mut self, table: &str, row: Vec<Value>) {
        if let Some(t) = self.tables.iter_mut().find(|t| t.0 == table) {
            t.2.push(row);
            self.pending += 1;
        }
    }
    fn flush(
        &mut self,
        tx: &mut Tx<'_>,
        counts: &mut [(&'static str, u64)],
    ) -> Result<(), StoreError> {
        for (i, (name, cols, rows)) in self.tables.iter_mut().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let n = tx.insert_rows(name, cols, rows, "")?;
            if let Some(c) = counts.get_mut(i) {
                c.1 += n;
            }
            rows.clear();
        }
        self.pending = 0;
        Ok(())
    }
}

struct Canary {
    token: String,
    table: &'static str,
    row_id: i64,
    member_id: i64,
}

struct MemberInfo {
    first: &'static str,
    last: &'static str,
    email: String,
    function: &'static str,
    city: &'static str,
}

/// Generates a network of `config.members` members into an empty store.
pub fn seed(
    store: &Store,
    config: &SeedConfig,
    sealer: &dyn Sealer,
) -> Result<SeedReport, StoreError> {
    if config.members == 0 {
        return Err(StoreError::Invalid(
            "--members must be at least 1".to_owned(),
        ));
    }
    let existing = store.read(|tx| tx.query_i64("SELECT COUNT(*) FROM members", &[]))?;
    if existing > 0 {
        return Err(StoreError::Invalid(format!(
            "the database already holds {existing} members; seed an empty database"
        )));
    }
    let v = Vocab {
        female: lines(FEMALE),
        male: lines(MALE),
        last: lines(LAST),
        occupations: tsv(OCCUPATIONS),
        skills: lines(SKILLS),
        industries: tsv(INDUSTRIES),
    };
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(config.seed),
        sealer_scheme: sealer.scheme().to_owned(),
        canaries: Vec::new(),
    };
    let n = i64::from(config.members);
    let mut counts: Vec<(&'static str, u64)> = TABLES.iter().map(|t| (t.name, 0)).collect();
    let mut canaries: Vec<Canary> = Vec::new();
    store.set_bulk_mode(true)?;
    // The generator only references rows it created before; integrity is by construction
    // (and checked by the tests with `PRAGMA foreign_key_check`).
    store.set_foreign_key_checks(false)?;
    let result = store.transaction(|tx| {
        generate(tx, &mut g, &v, n, sealer, &mut counts, &mut canaries)?;
        for t in TABLES.iter().filter(|t| t.identity) {
            if let Some(k) = t.key.first() {
                tx.sync_identity(t.name, k)?;
            }
        }
        Ok::<(), StoreError>(())
    });
    store.set_foreign_key_checks(true)?;
    store.set_bulk_mode(false)?;
    result?;
    write_canaries(&config.canary_path, &canaries)?;
    Ok(SeedReport {
        rows: counts,
        canaries: canaries.len() as u64,
        canary_path: config.canary_path.clone(),
    })
}

fn write_canaries(path: &Path, canaries: &[Canary]) -> Result<(), StoreError> {
    let tmp = path.with_extension("jsonl.tmp");
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?);
    for c in canaries {
        let line = serde_json::json!({
            "token": c.token,
            "table": c.table,
            "row_id": c.row_id,
            "member_id": c.member_id,
        });
        writeln!(f, "{line}").map_err(|e| StoreError::io(&tmp, e))?;
    }
    let file = f
        .into_inner()
        .map_err(|e| StoreError::io(&tmp, e.error()))?;
    file.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))
}

/// Reads a canary registry back (token, table, row id, member id).
pub fn read_canaries(path: &Path) -> Result<Vec<(String, String, i64, i64)>, StoreError> {
    let text = std::fs::read_to_string(path).map_err(|e| StoreError::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| StoreError::Invalid(format!("{}:{}: {e}", path.display(), i + 1)))?;
        out.push((
            v["token"].as_str().unwrap_or_default().to_owned(),
            v["table"].as_str().unwrap_or_default().to_owned(),
            v["row_id"].as_i64().unwrap_or_default(),
            v["member_id"].as_i64().unwrap_or_default(),
        ));
    }
    Ok(out)
}

#[allow(
    clippy::too_many_lines,
    reason = "one pass that reads top to bottom like the network it builds"
)]
fn generate(
    tx: &mut Tx<'_>,
    g: &mut Gen,
    v: &Vocab,
    n: i64,
    sealer: &dyn Sealer,
    counts: &mut [(&'static str, u64)],
    canaries: &mut Vec<Canary>,
) -> Result<(), StoreError> {
    let mut b = Batch::new();
    let flush_at = 50_000;
    let start = SEED_EPOCH_MS - 10 * YEAR_MS;

    // Organisations first: companies and their jobs.
    let n_companies = (n / 40).max(3);
    let mut company_names = Vec::with_capacity(n_companies as usize);
    for id in 1..=n_companies {
        let (code, industry) = g.pick(&v.industries, ("000", "Other"));
        let name = format!(
            "{} {}",
            g.pick(&v.last, "Acme"),
            g.pick(COMPANY_SUFFIX, "Group")
        );
        let size = g.pick(COMPANY_SIZE, "11-50");
        let website = format!(
            "https://www.{}.example",
            name.to_lowercase().replace(' ', "-")
        );
        b.push(
            "companies",
            vec![
                id.into(),
                name.as_str().into(),
                industry.into(),
                size.into(),
                website.into(),
                format!("{name} is a {industry} company (NAICS {code}).").into(),
                g.time_between(start - 20 * YEAR_MS, start).into(),
            ],
        );
        company_names.push((name, industry, size));
    }
    let n_jobs = (n / 15).max(3);
    for id in 1..=n_jobs {
        let company = 1 + g.below(n_companies as usize) as i64;
        let (soc, title) = g.pick(&v.occupations, ("11-1011.00", "Manager"));
        let (country, _, cities, _) = g.pick(GEO, GEO[0]);
        let (city, region) = g.pick(cities, ("Remote", "Remote"));
        b.push(
            "jobs",
            vec![
                id.into(),
                company.into(),
                title.into(),
                vocab::job_function_of_soc(soc).into(),
                g.pick(SENIORITY, "entry").into(),
                region.into(),
                country.into(),
                format!("{title} in {city}. Apply with your CV.").into(),
                g.time_between(SEED_EPOCH_MS - YEAR_MS, SEED_EPOCH_MS)
                    .into(),
            ],
        );
    }

    // Members with their profiles.
    let geo_total: u32 = GEO.iter().map(|x| x.1).sum();
    let mut info: Vec<MemberInfo> = Vec::with_capacity(n as usize);
    let (mut pos_id, mut edu_id) = (0i64, 0i64);
    let mut created: Vec<i64> = Vec::with_capacity(n as usize);
    for id in 1..=n {
        let female = g.chance(0.5);
        let first = if female {
            g.pick(&v.female, "Alex")
        } else {
            g.pick(&v.male, "Sam")
        };
        let last = g.pick(&v.last, "Smith");
        let mut w = g.below(geo_total as usize) as u32;
        let mut geo = GEO[0];
        for x in GEO {
            if w < x.1 {
                geo = *x;
                break;
            }
            w -= x.1;
        }
        let (country, _, cities, dial) = geo;
        let (city, region) = g.pick(cities, ("Capital", "Capital"));
        let email = format!(
            "{}.{}{}@{}",
            first.to_lowercase(),
            last.to_lowercase(),
            id % 1000,
            g.pick(EMAIL_DOMAINS, "mail.com")
        );
        let phone = format!(
            "{dial} {} {:03} {:04}",
            20 + g.below(80),
            g.below(1000),
            g.below(10_000)
        );
        let (soc, title) = g.pick(&v.occupations, ("11-1011.00", "Manager"));
        let function = vocab::job_function_of_soc(soc);
        let (_, industry) = g.pick(&v.industries, ("000", "Other"));
        let years = g.below(40) as i64;
        let seniority = SENIORITY[((years / 6) as usize).min(SENIORITY.len() - 1)];
        let company = 1 + g.below(n_companies as usize) as i64;
        let company_name = company_names
            .get((company - 1) as usize)
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let size = company_names
            .get((company - 1) as usize)
            .map(|c| c.2)
            .unwrap_or("11-50");
        let birth_year: Option<i64> = if g.chance(0.012) {
            Some(2026 - 14 - g.below(4) as i64) // a small share of minors (14–17)
        } else if g.chance(0.6) {
            Some(2026 - 22 - years - g.below(8) as i64)
        } else {
            None
        };
        let gender = if g.chance(0.5) {
            Some(if female { "female" } else { "male" })
        } else if g.chance(0.02) {
            Some("non_binary")
        } else {
            None
        };
        let headline = format!("{title} at {company_name}");
        let skill_a = g.pick(&v.skills, "communication");
        let skill_b = g.pick(&v.skills, "teamwork");
        let summary = match g.below(6) {
            0 => format!(
                "{years} years in {industry}. I work on {skill_a} and {skill_b}. Reach me at {email} or {phone}."
            ),
            1 => format!(
                "{title} based in {city}. Portfolio: https://{}{}.dev",
                first.to_lowercase(),
                last.to_lowercase()
            ),
            2 => format!(
                "Passionate about {skill_a}. Previously worked with {} {} on {skill_b}.",
                g.pick(&v.female, "Ana"),
                g.pick(&v.last, "Lee")
            ),
            _ => format!(
                "{title} with {years} years of experience in {industry}, focused on {skill_a}."
            ),
        };
        let created_at = g.time_between(start, SEED_EPOCH_MS - YEAR_MS / 12);
        let deleted_at: Option<i64> = if g.chance(0.005) {
            Some(SEED_EPOCH_MS - g.below(1000) as i64 * 60_000)
        } else {
            None
        };
        b.push(
            "members",
            vec![
                id.into(),
                first.into(),
                last.into(),
                email.as_str().into(),
                phone.as_str().into(),
                headline.into(),
                summary.into(),
                city.into(),
                region.into(),
                country.into(),
                industry.into(),
                function.into(),
                seniority.into(),
                size.into(),
                years.into(),
                country.into(),
                gender.into(),
                birth_year.into(),
                created_at.into(),
                deleted_at.into(),
            ],
        );
        created.push(created_at);

        // Section visibility: most keep the defaults; some hide or widen sections.
        if g.chance(0.2) {
            let mut chosen: Vec<usize> = Vec::new();
            for _ in 0..1 + g.below(3) {
                let s = g.below(SECTIONS.len());
                if chosen.contains(&s) {
                    continue;
                }
                chosen.push(s);
                let vis = g.pick(&["public", "connections", "private"], "private");
                b.push(
                    "profile_visibility",
                    vec![id.into(), SECTIONS[s].name.into(), vis.into()],
                );
            }
        }
        // Experience: the current position and some earlier ones.
        let n_pos = 1 + g.below(4);
        let mut end: Option<i64> = None;
        let mut year = 2026 - g.below(3) as i64;
        for k in 0..n_pos {
            pos_id += 1;
            let (cid, cname, t) = if k == 0 {
                (company, company_name.clone(), title)
            } else {
                let c = 1 + g.below(n_companies as usize) as i64;
                let (_, t) = g.pick(&v.occupations, ("", "Analyst"));
                (
                    c,
                    company_names
                        .get((c - 1) as usize)
                        .map(|x| x.0.clone())
                        .unwrap_or_default(),
                    t,
                )
            };
            let start_year = year - 1 - g.below(6) as i64;
            b.push(
                "positions",
                vec![
                    pos_id.into(),
                    id.into(),
                    cid.into(),
                    cname.into(),
                    t.into(),
                    start_year.into(),
                    end.into(),
                    format!(
                        "Worked on {} and {}.",
                        g.pick(&v.skills, "planning"),
                        g.pick(&v.skills, "reporting")
                    )
                    .into(),
                ],
            );
            end = Some(start_year);
            year = start_year;
        }
        for _ in 0..1 + g.below(2) {
            edu_id += 1;
            let school_city = g.pick(cities, (city, region)).0;
            let school = if g.chance(0.5) {
                format!("University of {school_city}")
            } else {
                format!("{school_city} Institute of Technology")
            };
            let grad = 2026 - years - g.below(3) as i64;
            b.push(
                "education",
                vec![
                    edu_id.into(),
                    id.into(),
                    school.into(),
                    g.pick(DEGREES, "BSc").into(),
                    g.pick(&v.skills, "economics").into(),
                    (grad - 4).into(),
                    grad.into(),
                ],
            );
        }
        let mut skills: Vec<&str> = Vec::new();
        for _ in 0..3 + g.below(8) {
            let s = g.pick(&v.skills, "communication");
            if !skills.contains(&s) {
                skills.push(s);
                b.push(
                    "skills",
                    vec![id.into(), s.into(), (g.power_law(4.0, 99) as i64).into()],
                );
            }
        }
        info.push(MemberInfo {
            first,
            last,
            email,
            function,
            city,
        });
        if b.pending >= flush_at {
            b.flush(tx, counts)?;
        }
    }

    // Consent: EEA/UK/CH members mostly keep AI training off (their default), some opt in;
    // elsewhere some opt out. Some switch off personalized ads or single attributes.
    let mut consent_id = 0i64;
    for id in 1..=n {
        let idx = (id - 1) as usize;
        let t0 = created.get(idx).copied().unwrap_or(start);
        let mut events: Vec<(&str, &str)> = Vec::new();
        let r = g.below(100);
        if r < 12 {
            events.push(("ai.training", "off"));
        } else if r < 22 {
            events.push(("ai.training", "on"));
        }
        if g.chance(0.08) {
            events.push(("ads.personalized", "off"));
        }
        if g.chance(0.05) {
            let attr = g.pick(
                &[
                    "ads.attr.region",
                    "ads.attr.industry",
                    "ads.attr.seniority",
                    "ads.attr.skills",
                    "ads.attr.job_function",
                ],
                "ads.attr.skills",
            );
            events.push((attr, "off"));
        }
        if g.chance(0.04) {
            events.push(("ads.third_party", "on"));
        }
        if g.chance(0.03) {
            events.push(("messaging.harmful_detection", "off"));
        }
        let mut at = t0;
        for (k, v) in events {
            consent_id += 1;
            at = g.time_between(at + 1, SEED_EPOCH_MS);
            b.push(
                "consent_events",
                vec![
                    consent_id.into(),
                    id.into(),
                    k.into(),
                    v.into(),
                    at.into(),
                    "member".into(),
                ],
            );
        }
    }

    // Connections: heavy-tailed degrees; targets skewed towards early (well-connected) members.
    let mut edges: HashSet<(i64, i64)> = HashSet::new();
    for id in 1..=n {
        let degree = g.power_law(12.0, 800).max(1);
        for _ in 0..degree {
            let u: f64 = g.rng.random::<f64>();
            let other = 1 + ((u * u * n as f64) as i64).min(n - 1);
            if other == id {
                continue;
            }
            let key = (id.min(other), id.max(other));
            if !edges.insert(key) {
                continue;
            }
            let t0 = created
                .get((id - 1) as usize)
                .copied()
                .unwrap_or(start)
                .max(created.get((other - 1) as usize).copied().unwrap_or(start));
            let at = g.time_between(t0, SEED_EPOCH_MS);
            b.push("connections", vec![id.into(), other.into(), at.into()]);
            b.push("connections", vec![other.into(), id.into(), at.into()]);
        }
        if b.pending >= flush_at {
            b.flush(tx, counts)?;
        }
    }
    drop(edges);

    // Groups and memberships.
    let n_groups = (n / 150).max(2);
    let mut group_kind: Vec<&str> = Vec::with_capacity(n_groups as usize);
    let mut members_of: Vec<Vec<i64>> = vec![Vec::new(); n as usize + 1];
    for gid in 1..=n_groups {
        let kind = if gid == 1 {
            "closed"
        } else if gid == 2 {
            "open"
        } else if g.chance(0.3) {
            "closed"
        } else {
            "open"
        };
        group_kind.push(kind);
        let owner = 1 + g.below(n as usize) as i64;
        let topic = g.pick(&v.skills, "leadership");
        b.push(
            "network_groups",
            vec![
                gid.into(),
                format!("{topic} practitioners").into(),
                kind.into(),
                owner.into(),
                format!("A {kind} group about {topic}.").into(),
                g.time_between(start, SEED_EPOCH_MS).into(),
            ],
        );
        b.push(
            "group_memberships",
            vec![
                gid.into(),
                owner.into(),
                "owner".into(),
                g.time_between(start, SEED_EPOCH_MS).into(),
            ],
        );
        if let Some(v) = members_of.get_mut(owner as usize) {
            v.push(gid);
        }
    }
    for id in 1..=n {
        for _ in 0..g.below(3) {
            let gid = 1 + g.below(n_groups as usize) as i64;
            let Some(list) = members_of.get_mut(id as usize) else {
                continue;
            };
            if list.contains(&gid) {
                continue;
            }
            list.push(gid);
            b.push(
                "group_memberships",
                vec![
                    gid.into(),
                    id.into(),
                    "member".into(),
                    g.time_between(start, SEED_EPOCH_MS).into(),
                ],
            );
        }
    }

    // Posts: public, connections-only and group posts; closed-group bodies are sealed.
    let mut post_id = 0i64;
    let mut closed_posts = 0u64;
    for id in 1..=n {
        let mi = &info[(id - 1) as usize];
        let count = g.power_law(2.0, 200);
        for _ in 0..count {
            post_id += 1;
            let groups = members_of.get(id as usize).cloned().unwrap_or_default();
            let roll = g.below(100);
            let (vis, group): (&str, Option<i64>) = if roll < 15 && !groups.is_empty() {
                let gid = groups[g.below(groups.len())];
                let kind = group_kind
                    .get((gid - 1) as usize)
                    .copied()
                    .unwrap_or("open");
                (
                    if kind == "closed" {
                        "group_closed"
                    } else {
                        "group_open"
                    },
                    Some(gid),
                )
            } else if roll < 45 {
                ("connections", None)
            } else {
                ("public", None)
            };
            let skill = g.pick(&v.skills, "analytics");
            let body = match g.below(8) {
                0 => format!("We're hiring in {}! Send your CV to {}.", mi.city, mi.email),
                1 => format!(
                    "Great talk today with {} {} about {skill}.",
                    g.pick(&v.male, "Tom"),
                    g.pick(&v.last, "Ng")
                ),
                2 => format!(
                    "New article on {skill}: https://blog.example.com/{}-{}",
                    mi.first.to_lowercase(),
                    post_id
                ),
                3 => format!(
                    "Questions about {skill}? Call me on +1 415 555 {:04}.",
                    g.below(10_000)
                ),
                _ => format!(
                    "Some thoughts on {skill} in {}: what matters is the team.",
                    mi.function.replace('_', " ")
                ),
            };
            let at = g.time_between(created[(id - 1) as usize], SEED_EPOCH_MS);
            if vis == "group_closed" {
                closed_posts += 1;
                let text = if closed_posts % 5 == 1 {
                    format!("{body} {}", g.canary("post"))
                } else {
                    body
                };
                let sealed = sealer
                    .seal(
                        &SealContext {
                            table: "posts",
                            row_id: post_id,
                            member_id: id,
                            container_id: group,
                        },
                        text.as_bytes(),
                    )
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                if let Some(token) = text.split_whitespace().find(|w| w.starts_with("CANARY-")) {
                    canaries.push(Canary {
                        token: token.to_owned(),
                        table: "posts",
                        row_id: post_id,
                        member_id: id,
                    });
                }
                b.push(
                    "posts",
                    vec![
                        post_id.into(),
                        id.into(),
                        group.into(),
                        vis.into(),
                        Value::Null,
                        sealed.into_stored_bytes().into(),
                        g.sealer_scheme.as_str().into(),
                        at.into(),
                    ],
                );
            } else {
                b.push(
                    "posts",
                    vec![
                        post_id.into(),
                        id.into(),
                        group.into(),
                        vis.into(),
                        body.into(),
                        Value::Null,
                        Value::Null,
                        at.into(),
                    ],
                );
            }
        }
        if b.pending >= flush_at {
            b.flush(tx, counts)?;
        }
    }

    // Activity: engagement, searches, job applications.
    let (mut ev_id, mut search_id, mut app_id) = (0i64, 0i64, 0i64);
    for id in 1..=n {
        let t0 = created[(id - 1) as usize];
        for _ in 0..g.power_law(8.0, 2000) {
            ev_id += 1;
            let kind = g.pick(
                &[
                    "view", "view", "view", "like", "like", "comment", "share", "click",
                ],
                "view",
            );
            let (target_kind, target_id) = match g.below(4) {
                0 if post_id > 0 => ("post", 1 + g.below(post_id as usize) as i64),
                1 => ("job", 1 + g.below(n_jobs as usize) as i64),
                2 => ("company", 1 + g.below(n_companies as usize) as i64),
                _ => ("member", 1 + g.below(n as usize) as i64),
            };
            b.push(
                "engagement_events",
                vec![
                    ev_id.into(),
                    id.into(),
                    kind.into(),
                    target_kind.into(),
                    target_id.into(),
                    g.time_between(t0, SEED_EPOCH_MS).into(),
                ],
            );
        }
        for _ in 0..g.power_law(2.0, 300) {
            search_id += 1;
            let q = match g.below(3) {
                0 => format!(
                    "{} jobs in {}",
                    g.pick(&v.skills, "python"),
                    info[(id - 1) as usize].city
                ),
                1 => format!(
                    "{} {}",
                    g.pick(&v.female, "Maria"),
                    g.pick(&v.last, "Garcia")
                ),
                _ => g.pick(&v.occupations, ("", "analyst")).1.to_owned(),
            };
            b.push(
                "search_events",
                vec![
                    search_id.into(),
                    id.into(),
                    q.into(),
                    g.time_between(t0, SEED_EPOCH_MS).into(),
                ],
            );
        }
        if g.chance(0.3) {
            for _ in 0..1 + g.below(3) {
                app_id += 1;
                ev_id += 1;
                let job = 1 + g.below(n_jobs as usize) as i64;
                let at = g.time_between(t0, SEED_EPOCH_MS);
                b.push(
                    "applications",
                    vec![
                        app_id.into(),
                        id.into(),
                        job.into(),
                        at.into(),
                        g.pick(crate::schema::APPLICATION_STATUS, "submitted")
                            .into(),
                    ],
                );
                b.push(
                    "engagement_events",
                    vec![
                        ev_id.into(),
                        id.into(),
                        "apply".into(),
                        "job".into(),
                        job.into(),
                        at.into(),
                    ],
                );
            }
        }
        if b.pending >= flush_at {
            b.flush(tx, counts)?;
        }
    }

    // Conversations with sealed messages, attachments; private notes; reports.
    let n_conv = (n / 3).max(1);
    let (mut msg_id, mut att_id, mut report_id) = (0i64, 0i64, 0i64);
    for cid in 1..=n_conv {
        let a = 1 + g.below(n as usize) as i64;
        let mut who = vec![a];
        for _ in 0..1 + usize::from(g.chance(0.15)) {
            let o = 1 + g.below(n as usize) as i64;
            if !who.contains(&o) {
                who.push(o);
            }
        }
        if who.len() < 2 {
            let o = if a == n { 1 } else { a + 1 };
            if o != a {
                who.push(o);
            }
        }
        let t0 = who
            .iter()
            .map(|w| created[(*w - 1) as usize])
            .max()
            .unwrap_or(start);
        let c_at = g.time_between(t0, SEED_EPOCH_MS);
        b.push("conversations", vec![cid.into(), a.into(), c_at.into()]);
        for w in &who {
            b.push(
                "conversation_participants",
                vec![cid.into(), (*w).into(), c_at.into()],
            );
        }
        let mut at = c_at;
        for _ in 0..1 + g.power_law(3.0, 200) {
            msg_id += 1;
            let author = who[g.below(who.len())];
            let peer = who.iter().copied().find(|x| *x != author).unwrap_or(author);
            let pi = &info[(peer - 1) as usize];
            let mut text = match g.below(7) {
                0 => format!(
                    "Hi {}, are you open to a call about the {} role? My number is +44 20 7946 {:04}.",
                    pi.first,
                    pi.function.replace('_', " "),
                    g.below(10_000)
                ),
                1 => format!(
                    "Here's my private email: {}",
                    info[(author - 1) as usize].email
                ),
                2 => format!(
                    "Confidential: salary band is {}k. Don't share.",
                    60 + g.below(140)
                ),
                3 => format!(
                    "Security alert! Verify your account now: {}",
                    g.pick(PHISHING, PHISHING[0])
                ),
                _ => format!("Thanks {}, talk soon.", pi.first),
            };
            if msg_id % 20 == 1 {
                text.push(' ');
                text.push_str(&g.canary("message"));
            }
            at = g.time_between(at, SEED_EPOCH_MS.max(at + 1));
            let sealed = sealer
                .seal(
                    &SealContext {
                        table: "messages",
                        row_id: msg_id,
                        member_id: author,
                        container_id: Some(cid),
                    },
                    text.as_bytes(),
                )
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            if let Some(token) = text.split_whitespace().find(|w| w.starts_with("CANARY-")) {
                canaries.push(Canary {
                    token: token.to_owned(),
                    table: "messages",
                    row_id: msg_id,
                    member_id: author,
                });
            }
            b.push(
                "messages",
                vec![
                    msg_id.into(),
                    cid.into(),
                    author.into(),
                    at.into(),
                    sealed.into_stored_bytes().into(),
                    g.sealer_scheme.as_str().into(),
                    Value::Null,
                    Value::Null,
                ],
            );
            if g.chance(0.05) {
                att_id += 1;
                let (media, body) = if att_id % 97 == 1 {
                    ("application/octet-stream", eicar())
                } else if att_id % 10 == 1 {
                    (
                        "text/plain",
                        format!("CV of {} {} {}", pi.first, pi.last, g.canary("attachment")),
                    )
                } else {
                    ("text/plain", format!("CV of {} {}", pi.first, pi.last))
                };
                let sealed = sealer
                    .seal(
                        &SealContext {
                            table: "attachments",
                            row_id: att_id,
                            member_id: author,
                            container_id: Some(cid),
                        },
                        body.as_bytes(),
                    )
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                if let Some(token) = body.split_whitespace().find(|w| w.starts_with("CANARY-")) {
                    canaries.push(Canary {
                        token: token.to_owned(),
                        table: "attachments",
                        row_id: att_id,
                        member_id: author,
                    });
                }
                b.push(
                    "attachments",
                    vec![
                        att_id.into(),
                        msg_id.into(),
                        author.into(),
                        media.into(),
                        (body.len() as i64).into(),
                        sealed.into_stored_bytes().into(),
                        g.sealer_scheme.as_str().into(),
                        Value::Null,
                        Value::Null,
                    ],
                );
            }
            if g.chance(0.003) && peer != author {
                report_id += 1;
                b.push(
                    "reports",
                    vec![
                        report_id.into(),
                        peer.into(),
                        "message".into(),
                        msg_id.into(),
                        g.pick(&["spam", "harassment", "phishing", "scam"], "spam")
                            .into(),
                        at.into(),
                        "open".into(),
                    ],
                );
            }
        }
        if b.pending >= flush_at {
            b.flush(tx, counts)?;
        }
    }
    let mut note_id = 0i64;
    for id in 1..=n {
        if !g.chance(0.05) {
            continue;
        }
        note_id += 1;
        let about = 1 + g.below(n as usize) as i64;
        let about = if about == id { None } else { Some(about) };
        let mut text = format!(
            "Met at the {} meetup; follow up in spring.",
            info[(id - 1) as usize].city
        );
        if note_id % 5 == 1 {
            text.push(' ');
            text.push_str(&g.canary("note"));
        }
        let sealed = sealer
            .seal(
                &SealContext {
                    table: "private_notes",
                    row_id: note_id,
                    member_id: id,
                    container_id: None,
                },
                text.as_bytes(),
            )
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        if let Some(token) = text.split_whitespace().find(|w| w.starts_with("CANARY-")) {
            canaries.push(Canary {
                token: token.to_owned(),
                table: "private_notes",
                row_id: note_id,
                member_id: id,
            });
        }
        b.push(
            "private_notes",
            vec![
                note_id.into(),
                id.into(),
                about.into(),
                g.time_between(created[(id - 1) as usize], SEED_EPOCH_MS)
                    .into(),
                sealed.into_stored_bytes().into(),
                g.sealer_scheme.as_str().into(),
            ],
        );
    }

    // Staff who run trust & safety and the data platform.
    let staff: &[(&str, &[&str])] = &[
        ("ada.reviewer", &["reviewer"]),
        ("ben.approver", &["approver"]),
        ("cara.approver", &["approver"]),
        ("dev.engineer", &["engineer"]),
        ("eve.auditor", &["auditor"]),
        ("root.admin", &["admin"]),
    ];
    for (i, (name, roles)) in staff.iter().enumerate() {
        let sid = i as i64 + 1;
        b.push("staff", vec![sid.into(), (*name).into(), start.into()]);
        for r in *roles {
            b.push("staff_roles", vec![sid.into(), (*r).into()]);
        }
    }
    b.flush(tx, counts)?;
    Ok(())
}

/// A SHA-256 digest of every row of every store table in key order: two stores with the same
/// digest hold the same data (the seed-determinism check).
pub fn content_digest(store: &Store) -> Result<String, StoreError> {
    store.read(|tx| {
        let mut h = Sha256::new();
        for t in TABLES {
            h.update(t.name.as_bytes());
            let sql = format!(
                "SELECT {} FROM {} ORDER BY {}",
                t.column_names().join(", "),
                t.name,
                t.key.join(", ")
            );
            tx.query_each(&sql, &[], |r| {
                for v in r.values() {
                    match v {
                        Value::Null => h.update([0u8]),
                        Value::Int(i) => {
                            h.update([1u8]);
                            h.update(i.to_le_bytes());
                        }
                        Value::Text(s) => {
                            h.update([2u8]);
                            h.update((s.len() as u64).to_le_bytes());
                            h.update(s.as_bytes());
                        }
                        Value::Bytes(b) => {
                            h.update([3u8]);
                            h.update((b.len() as u64).to_le_bytes());
                            h.update(b);
                        }
                    }
                }
                Ok::<(), StoreError>(())
            })?;
        }
        Ok(hex::encode(h.finalize()))
    })
}
