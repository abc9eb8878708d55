//! `steward demo`: a whole network on this machine with one command — an SQLite database in a
//! demo folder, a seeded network with sealed private content, a signed ledger checkpoint, a
//! running ad campaign with a differentially private report, a token per role, sign-in links
//! (the advertiser's opens the advertiser console), and the server with its web UI.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use steward_ledger::{CheckpointSigner, Ledger};
use steward_server::AppState;
use steward_server::auth::{Role, create_token};
use steward_store::Store;
use steward_vault::Keyring;

use crate::Global;
use crate::output::{Failure, emit};

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo's database, key file and canary registry (reused if it exists).
    #[arg(long, default_value = "demo")]
    pub dir: PathBuf,
    /// Members to generate on first run.
    #[arg(long, default_value_t = 20_000)]
    pub members: u32,
    /// Address the server listens on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Prepare everything and print the links, but do not serve.
    #[arg(long)]
    pub no_serve: bool,
}

/// The demo's advertiser account: the label of the advertiser token it prints, so the console
/// shows the campaign the demo ran.
const DEMO_ADVERTISER: &str = "acme-demo";
const DAY_MS: i64 = 86_400_000;

/// The member the demo signs in: the first live US member, whose defaults include AI training,
/// so turning it off in the privacy center shows a visible change.
const DEMO_MEMBER_SQL: &str = "SELECT member_id FROM members WHERE jurisdiction = 'US' \
     AND deleted_at IS NULL AND status = 'active' ORDER BY member_id LIMIT 1";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn run(args: DemoArgs, global: &Global) -> Result<ExitCode, Failure> {
    // A demo that serves is a server left running: bound its malloc arenas as `serve` does,
    // before any work (the re-execution starts over with the same arguments).
    if !args.no_serve {
        super::serve::exec_with_bounded_arenas();
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("create `{}`", args.dir.display()))?;
    let db_path = args.dir.join("steward.db");
    let key_file = args.dir.join("steward.keys");
    let store = Store::open(&format!("sqlite://{}", db_path.display()))
        .map_err(super::seed::store_failure)?;
    let members = store
        .read(|tx| tx.query_i64("SELECT COUNT(*) FROM members", &[]))
        .map_err(super::seed::store_failure)?;
    let mut out = String::new();
    if members == 0 {
        emit(&format!(
            "seeding {} members into {} (sealed private content, canaries recorded beside it)…\n",
            args.members,
            db_path.display()
        ))?;
        let started = std::time::Instant::now();
        let canaries = args.dir.join("steward.db.canaries.jsonl");
        let report = super::seed::seed_sealed(&store, args.members, 42, &canaries, &key_file)?;
        out.push_str(&format!(
            "seeded {} rows in {:.1} s; {} canary tokens planted in private content\n",
            report.total_rows(),
            started.elapsed().as_secs_f64(),
            report.canaries
        ));
    } else {
        out.push_str(&format!(
            "reusing {} with {members} members\n",
            db_path.display()
        ));
    }

    let taxonomy = super::policy::load_taxonomy(global)?;
    let policy = Arc::new(super::policy::active_policy(taxonomy.clone(), &store)?);
    if members == 0 {
        out.push_str(&run_demo_flows(
            &store, &policy, &taxonomy, &key_file, &args.dir,
        )?);
    }

    // A signed checkpoint, so members' access histories come with proofs from the start.
    Ledger::install(&store).map_err(|e| Failure::Internal(anyhow::anyhow!("{e}")))?;
    let keyring = Keyring::open(&key_file).map_err(|e| Failure::bad_input(e.code(), e))?;
    let seed = keyring.ledger_signing_key_bytes();
    let signer = CheckpointSigner::from_seed("steward.local/ledger", seed.as_slice())
        .map_err(|e| Failure::Internal(anyhow::anyhow!("{e}")))?;
    store
        .transaction(|tx| {
            Ledger::new("steward.local/ledger")
                .checkpoint(tx, &signer, u64::try_from(now_ms()).unwrap_or(0))
                .map(|_| ())
        })
        .map_err(|e| Failure::Internal(anyhow::anyhow!("{e}")))?;

    // One token per role; the member is the first US member, whose defaults include AI
    // training, so turning it off in the privacy center shows a visible change.
    let member = store
        .read(|tx| {
            tx.query_opt(DEMO_MEMBER_SQL, &[])?
                .map_or(Ok(1), |r| r.i64(0))
        })
        .map_err(super::seed::store_failure)?;
    let state = AppState::new(Arc::new(store), policy)
        .map_err(|e| Failure::Internal(e.into()))?
        .with_keyring(keyring)
        .map_err(|e| Failure::bad_input(e.code(), e))?;
    out.push_str(&format!(
        "\nactive policy {}\nsign in (each link carries a fresh token in the URL fragment, never sent to the server):\n",
        state.policy.version_id()
    ));
    for role in Role::ALL {
        let bound = (role == Role::Member).then_some(member);
        // The advertiser token acts for the demo's advertiser account (its label).
        let (label, page) = if role == Role::Advertiser {
            (DEMO_ADVERTISER, "ui/advertiser.html")
        } else {
            ("demo", "")
        };
        let token = create_token(&state.store, role, bound, label, now_ms())
            .map_err(|e| Failure::Internal(anyhow::anyhow!("{e} [{}]", e.code())))?;
        let who = match bound {
            Some(m) => format!("{} (member {m})", role.as_str()),
            None if role == Role::Advertiser => format!("advertiser ({DEMO_ADVERTISER})"),
            None => role.as_str().to_owned(),
        };
        out.push_str(&format!(
            "  {who:<24} http://{}/{page}#token={}\n",
            args.addr, token.secret
        ));
    }
    out.push_str(&format!(
        "\nAPI: http://{0}/openapi.json   health: http://{0}/healthz\n",
        args.addr
    ));
    emit(&out)?;
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    emit(&format!(
        "serving on http://{} — Ctrl-C to stop\n",
        args.addr
    ))?;
    crate::logging::init();
    let runtime = super::serve::server_runtime(super::serve::BLOCKING_THREADS)?;
    runtime
        .block_on(steward_server::serve(args.addr, state))
        .with_context(|| format!("serve on {}", args.addr))?;
    Ok(ExitCode::SUCCESS)
}

/// The flows a visitor should find already done: a reported message taken through a grant by
/// two staff members (so the reviewer console and both members' access histories have
/// something to show) and the shipped `profiles` training dataset, built through the gate.
fn run_demo_flows(
    store: &Store,
    policy: &steward_core::Policy,
    taxonomy: &steward_core::Taxonomy,
    key_file: &std::path::Path,
    dir: &std::path::Path,
) -> Result<String, Failure> {
    let internal = |e: &dyn std::fmt::Display| Failure::Internal(anyhow::anyhow!("{e}"));
    let mut out = String::new();
    let scanner = steward_scan::Scanner::builtin().map_err(|e| internal(&e))?;
    let vault = steward_vault::Vault::new(
        Keyring::open(key_file).map_err(|e| Failure::bad_input(e.code(), e))?,
    );
    steward_vault::safety::migrate(store).map_err(|e| internal(&e))?;
    let (sender, recipient) = store
        .read(|tx| {
            // The recipient is the member the demo signs in, so their privacy center shows
            // the review in their access history.
            let recipient = tx
                .query_opt(DEMO_MEMBER_SQL, &[])?
                .map(|r| r.i64(0))
                .transpose()?;
            let sender = tx
                .query_opt(
                    "SELECT MIN(member_id) FROM members WHERE deleted_at IS NULL \
                     AND status = 'active' AND member_id > $1",
                    &[recipient.unwrap_or(0).into()],
                )?
                .and_then(|r| r.i64(0).ok());
            Ok((sender, recipient))
        })
        .map_err(super::seed::store_failure)?;
    if let (Some(sender), Some(recipient)) = (sender, recipient) {
        let safety = steward_vault::Safety::new(&vault, &scanner, taxonomy, policy.version_id());
        let review = safety
            .demo_review(store, sender, recipient, now_ms())
            .map_err(|e| internal(&e))?;
        out.push_str(&format!(
            "reported message: member {} reported member {}'s message; case {} → grant {} \
             requested by {}, approved by {}; {} item(s) opened under it (ledgered), decision {:?}\n",
            review.recipient,
            review.sender,
            review.case_id,
            review.grant_id,
            review.reviewer,
            review.approver,
            review.opened.len(),
            review.decision,
        ));
    }
    let ledger = Ledger::new("steward.local/ledger");
    let datasets_dir = dir.join("datasets");
    std::fs::create_dir_all(&datasets_dir)
        .with_context(|| format!("create `{}`", datasets_dir.display()))?;
    let built = steward_datasets::build::build_shipped(
        store,
        policy,
        &ledger,
        "profiles",
        &datasets_dir,
        now_ms(),
    )
    .map_err(|e| internal(&e))?;
    out.push_str(&format!(
        "training dataset `{}` built through the gate into {}\n",
        built.id,
        built.path.display()
    ));
    out.push_str(&run_ads_demo(store, policy)?);
    Ok(out)
}

/// An advertiser's first week: an audience over allowed attributes (and a too-small one the
/// library refuses), a launched campaign, a week of simulated traffic, and a differentially
/// private report by seniority with the ε it spent — what the advertiser console then shows.
fn run_ads_demo(store: &Store, policy: &steward_core::Policy) -> Result<String, Failure> {
    use steward_ads::audience::{self, AdsConfig};
    use steward_ads::report::{self, Dimension, ReportRequest};
    use steward_ads::{AdsError, AudienceIndex, Eligibility, campaign, events, schema};
    let failed = |e: AdsError| Failure::Internal(anyhow::anyhow!("ads demo: {e} [{}]", e.code()));
    let now = now_ms();
    let ledger = Ledger::new("steward.local/ledger");
    let config = AdsConfig::default();
    schema::install(store).map_err(failed)?;
    let index = AudienceIndex::build(store, policy, now).map_err(failed)?;
    let mut out = String::new();
    let create = |name: &str, expression: &str| {
        store.transaction(|tx| {
            let key = schema::noise_key(tx)?;
            audience::create(
                tx,
                &ledger,
                &index,
                &key,
                &config,
                DEMO_ADVERTISER,
                name,
                expression,
                now,
            )
        })
    };
    match create(
        "Chief legal officers",
        "seniority = cxo and job_function = legal",
    ) {
        Err(e @ AdsError::AudienceTooSmall { .. }) => out.push_str(&format!(
            "ads: a micro-targeted audience was refused by the server: {e}\n"
        )),
        Err(e) => return Err(failed(e)),
        Ok(s) => out.push_str(&format!(
            "ads: audience {} `{}` reaches {}\n",
            s.audience.id,
            s.audience.name,
            s.estimate.text()
        )),
    }
    let saved = match create(
        "Senior decision makers",
        "seniority in (mid_senior, director, vp, cxo)",
    ) {
        Ok(saved) => saved,
        // A small demo network (`--members` in the hundreds) has no audience above the
        // minimum; the server's refusal is the demonstration then.
        Err(e @ AdsError::AudienceTooSmall { .. }) => {
            out.push_str(&format!(
                "ads: no campaign — this network is too small for an audience above the minimum ({e}); run the demo with more members\n"
            ));
            return Ok(out);
        }
        Err(e) => return Err(failed(e)),
    };
    let c = store
        .transaction(|tx| {
            let c = campaign::create(
                tx,
                &ledger,
                &index,
                &config,
                DEMO_ADVERTISER,
                "Spring launch",
                Some(saved.audience.id),
                None,
                now,
            )?;
            campaign::launch(tx, &ledger, &index, &config, DEMO_ADVERTISER, c.id, now)
        })
        .map_err(failed)?;
    let eligibility = store
        .read(|tx| Eligibility::build(tx, &index))
        .map_err(failed)?;
    let day0 = now.div_euclid(DAY_MS) * DAY_MS;
    let sim = events::Simulation::new(c.id, 42, 20_000, day0 - 7 * DAY_MS, day0);
    let evs = events::simulate(&eligibility, index.targetable(), &sim).map_err(failed)?;
    let kept = store
        .transaction(|tx| events::record(tx, policy, &evs))
        .map_err(failed)?;
    let request = ReportRequest {
        campaign_id: c.id,
        by: Some(Dimension::Seniority),
        days: 7,
        epsilon: steward_privacy::dp::Epsilon(500_000),
    };
    let r = store
        .transaction(|tx| {
            let key = schema::noise_key(tx)?;
            report::campaign_report(tx, &ledger, policy, &key, DEMO_ADVERTISER, &request, now)
        })
        .map_err(failed)?;
    let total = |pick: fn(&steward_privacy::dp::aggregate::Funnel) -> i64| {
        r.rows
            .iter()
            .filter_map(|row| row.funnel.as_ref().map(pick))
            .sum::<i64>()
    };
    out.push_str(&format!(
        "ads: `{DEMO_ADVERTISER}` audience {} `{}` ({}), campaign {} `{}` {}; {} simulated events kept\n\
         ads: DP report by seniority over 7 days: ~{} impressions, ~{} clicks, ~{} conversions \
         ({} cell(s) suppressed); ε {} spent, campaign ε {} of {} remaining\n",
        saved.audience.id,
        saved.audience.name,
        saved.estimate.text(),
        c.id,
        c.name,
        c.status.as_str(),
        kept.kept,
        total(|f| f.impressions),
        total(|f| f.clicks),
        total(|f| f.conversions),
        r.suppressed,
        r.epsilon,
        r.campaign_budget.remaining,
        r.campaign_budget.budget,
    ));
    Ok(out)
}
