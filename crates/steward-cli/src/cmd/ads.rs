//! `steward ads`: audiences (create, edit, estimate, show, match a contact list), campaigns
//! (create, launch, pause, resume), simulated ad events, and differentially private reports.
//! Wiring only: every rule lives in `steward-ads`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use steward_ads::audience::{self, AdsConfig, Estimate};
use steward_ads::campaign::{self, Campaign};
use steward_ads::events::{self, Simulation};
use steward_ads::report::{self, Dimension, ReportRequest};
use steward_ads::{AdsError, AudienceIndex, Eligibility, Expr, schema};
use steward_core::Policy;
use steward_ledger::Ledger;
use steward_privacy::dp::Epsilon;
use steward_store::Store;

use crate::Global;
use crate::output::{Failure, emit, print_json};

#[derive(Args, Debug)]
pub struct AdsArgs {
    /// The minimum audience (never below 100).
    #[arg(long, global = true, default_value_t = audience::DEFAULT_MIN_AUDIENCE)]
    pub min_audience: u32,
    #[command(subcommand)]
    pub command: AdsCommand,
}

#[derive(Subcommand, Debug)]
pub enum AdsCommand {
    /// Audiences over allowed professional attributes.
    #[command(subcommand)]
    Audience(AudienceCommand),
    /// Campaigns: create, launch, pause, resume.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Ad events.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Differentially private insights for `analytics.insights`.
    #[command(subcommand)]
    Insights(InsightsCommand),
    /// A differentially private campaign report (ε spent and remaining).
    Report {
        /// The campaign id.
        campaign: i64,
        #[arg(long)]
        advertiser: String,
        /// Break down by industry, seniority, function, region or company_size.
        #[arg(long, value_name = "DIMENSION")]
        by: Option<String>,
        /// The whole days before today (UTC) the report covers.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// The ε this report spends (split over impressions, clicks, conversions).
        #[arg(long, default_value_t = 0.5)]
        epsilon: f64,
    },
}

#[derive(Subcommand, Debug)]
pub enum InsightsCommand {
    /// Skills in demand: the DP top-k skills per industry (open-domain partition selection,
    /// charged to the insights ε and δ budgets; the same question the same day returns the
    /// same answer).
    Skills {
        #[arg(long, default_value_t = 1.0)]
        epsilon: f64,
        #[arg(long, default_value_t = 1e-6)]
        delta: f64,
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Set the total ε of insights releases first (spent ε stays spent).
        #[arg(long)]
        budget: Option<f64>,
        /// Set the total δ of insights releases first (spent δ stays spent).
        #[arg(long)]
        delta_budget: Option<f64>,
    },
    /// Career transitions: DP counts of moves between job functions (closed domain,
    /// charged to the insights budget; the same question the same day returns the same answer).
    Transitions {
        #[arg(long, default_value_t = 1.0)]
        epsilon: f64,
        /// Show at most this many transitions (largest first).
        #[arg(long, default_value_t = 20)]
        top: usize,
        /// Set the total ε of insights releases first (spent ε stays spent).
        #[arg(long)]
        budget: Option<f64>,
    },
}

/// `steward insights`: the same commands as `steward ads insights`.
#[derive(Args, Debug)]
pub struct InsightsArgs {
    #[command(subcommand)]
    pub command: InsightsCommand,
}

/// Runs `steward insights ...`.
pub fn run_insights(args: InsightsArgs, global: &Global) -> Result<ExitCode, Failure> {
    run(
        AdsArgs {
            min_audience: audience::DEFAULT_MIN_AUDIENCE,
            command: AdsCommand::Insights(args.command),
        },
        global,
    )
}

#[derive(Subcommand, Debug)]
pub enum AudienceCommand {
    /// Create an attribute audience, e.g. `industry in (software, finance) and not seniority = entry`.
    Create {
        #[arg(long)]
        advertiser: String,
        #[arg(long)]
        name: String,
        expression: String,
    },
    /// Replace an audience's expression (checked against the minimum again).
    Edit {
        #[arg(long)]
        advertiser: String,
        id: i64,
        expression: String,
    },
    /// The rounded, noised size estimate of an expression.
    Estimate { expression: String },
    /// An audience and its current estimate.
    Show {
        #[arg(long)]
        advertiser: String,
        id: i64,
    },
    /// A matched audience from salted hashes: SHA-256 hex of `SALT:email`, one per line.
    Match {
        #[arg(long)]
        advertiser: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        salt: String,
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum CampaignCommand {
    /// Create a draft campaign, targeted (`--audience ID`) or untargeted.
    Create {
        #[arg(long)]
        advertiser: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        audience: Option<i64>,
        /// The campaign's ε budget for reports.
        #[arg(long)]
        budget: Option<f64>,
    },
    /// Launch a draft (the audience is recounted on the server).
    Launch {
        #[arg(long)]
        advertiser: String,
        id: i64,
    },
    /// Pause an active campaign.
    Pause {
        #[arg(long)]
        advertiser: String,
        id: i64,
    },
    /// Resume a paused campaign (the audience is recounted).
    Resume {
        #[arg(long)]
        advertiser: String,
        id: i64,
    },
    /// Pause every active campaign whose audience fell below the minimum.
    Enforce,
}

#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// Generate realistic traffic for an active campaign, deterministic by seed.
    Simulate {
        #[arg(long)]
        campaign: i64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 10_000)]
        impressions: u64,
        /// Spread over the whole days before today.
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
}

const DAY_MS: i64 = 86_400_000;

fn failure(e: AdsError) -> Failure {
    match e.code() {
        "ads.parse"
        | "ads.unknown_attribute"
        | "ads.invalid"
        | "ads.config"
        | "dp.invalid_parameter" => Failure::bad_input(e.code(), &e),
        _ if e.is_refusal() => Failure::denied(e.code(), &e),
        "gate.denied" => Failure::denied(e.code(), &e),
        _ => Failure::Internal(anyhow::anyhow!("{} [{}]", e, e.code())),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

struct Ctx {
    store: Store,
    policy: Policy,
    ledger: Ledger,
    config: AdsConfig,
    now: i64,
}

impl Ctx {
    fn index(&self) -> Result<AudienceIndex, Failure> {
        AudienceIndex::build(&self.store, &self.policy, self.now).map_err(failure)
    }
}

fn campaign_json(c: &Campaign) -> serde_json::Value {
    serde_json::json!({
        "id": c.id, "advertiser": c.advertiser, "name": c.name, "audience": c.audience_id,
        "status": c.status.as_str(), "pause_reason": c.pause_reason,
        "epsilon_budget": c.epsilon_budget.as_f64(),
    })
}

fn estimate_json(e: &Estimate) -> serde_json::Value {
    match e {
        Estimate::About(n) => serde_json::json!({ "about": n }),
        Estimate::BelowMinimum { minimum } => serde_json::json!({ "below_minimum": minimum }),
    }
}

fn say(global: &Global, json: serde_json::Value, text: String) -> Result<(), Failure> {
    if global.json {
        print_json(&json)
    } else {
        emit(&text)
    }
}

pub fn run(args: AdsArgs, global: &Global) -> Result<ExitCode, Failure> {
    let store = super::seed::open_store(global)?;
    schema::install(&store).map_err(failure)?;
    let taxonomy = super::policy::load_taxonomy(global)?;
    let policy = super::policy::active_policy(taxonomy, &store)?;
    let config = AdsConfig::with_min_audience(args.min_audience).map_err(failure)?;
    let ctx = Ctx {
        store,
        policy,
        ledger: Ledger::new("steward"),
        config,
        now: now_ms(),
    };
    match args.command {
        AdsCommand::Audience(c) => audience_cmd(&ctx, c, global)?,
        AdsCommand::Campaign(c) => campaign_cmd(&ctx, c, global)?,
        AdsCommand::Events(EventsCommand::Simulate {
            campaign,
            seed,
            impressions,
            days,
        }) => {
            let index = ctx.index()?;
            let elig = ctx
                .store
                .read(|tx| Eligibility::build(tx, &index))
                .map_err(failure)?;
            let day0 = ctx.now.div_euclid(DAY_MS) * DAY_MS;
            let sim = Simulation::new(
                campaign,
                seed,
                impressions,
                day0 - i64::from(days.max(1)) * DAY_MS,
                day0,
            );
            let evs = events::simulate(&elig, index.targetable(), &sim).map_err(failure)?;
            let rec = ctx
                .store
                .transaction(|tx| events::record(tx, &ctx.policy, &evs))
                .map_err(failure)?;
            say(
                global,
                serde_json::json!({
                    "generated": evs.len(), "kept": rec.kept,
                    "dropped_no_off_platform_consent": rec.dropped_no_off_platform_consent,
                    "dropped_unknown_member": rec.dropped_unknown_member,
                }),
                format!(
                    "{} events generated, {} kept; {} off-platform conversions dropped (no consent), {} of unknown members\n",
                    evs.len(),
                    rec.kept,
                    rec.dropped_no_off_platform_consent,
                    rec.dropped_unknown_member
                ),
            )?;
        }
        AdsCommand::Insights(InsightsCommand::Skills {
            epsilon,
            delta,
            top,
            budget,
            delta_budget,
        }) => {
            let epsilon = Epsilon::from_f64(epsilon).map_err(|e| failure(e.into()))?;
            let budget = budget
                .map(Epsilon::from_f64)
                .transpose()
                .map_err(|e| failure(e.into()))?;
            let r = ctx
                .store
                .transaction(|tx| {
                    if let Some(b) = budget {
                        steward_ads::insights::set_insights_budget(tx, b)?;
                    }
                    if let Some(d) = delta_budget {
                        steward_ads::insights::set_insights_delta_budget(tx, d)?;
                    }
                    let key = schema::noise_key(tx)?;
                    steward_ads::insights::skills_in_demand(
                        tx,
                        &ctx.ledger,
                        &ctx.policy,
                        &key,
                        epsilon,
                        delta,
                        top,
                        ctx.now,
                    )
                })
                .map_err(failure)?;
            let mut text = String::new();
            for i in &r.industries {
                let skills: Vec<String> =
                    i.skills.iter().map(|(s, n)| format!("{s} ({n})")).collect();
                text.push_str(&format!("{}: {}\n", i.industry, skills.join(", ")));
            }
            if r.industries.is_empty() {
                text.push_str("no skill cleared the release threshold\n");
            }
            text.push_str(&format!(
                "ε {} δ {} {}; insights ε spent {} of {} ({} remaining), δ spent {} of {}; ledger entry {}\n",
                r.epsilon,
                r.delta,
                if r.charged { "spent" } else { "(repeated question: same answer, nothing spent)" },
                r.budget.spent,
                r.budget.budget,
                r.budget.remaining,
                r.delta_budget.spent,
                r.delta_budget.budget,
                r.ledger_seq
            ));
            let industries: Vec<serde_json::Value> = r
                .industries
                .iter()
                .map(|i| serde_json::json!({ "industry": i.industry, "skills": i.skills }))
                .collect();
            say(
                global,
                serde_json::json!({
                    "industries": industries, "epsilon": r.epsilon.as_f64(), "delta": r.delta,
                    "day": r.day, "charged": r.charged,
                    "budget": { "epsilon": r.budget.budget.as_f64(), "spent": r.budget.spent.as_f64(),
                        "remaining": r.budget.remaining.as_f64() },
                    "delta_budget": { "delta": r.delta_budget.budget, "spent": r.delta_budget.spent,
                        "remaining": r.delta_budget.remaining },
                    "ledger_seq": r.ledger_seq,
                }),
                text,
            )?;
        }
        AdsCommand::Insights(InsightsCommand::Transitions {
            epsilon,
            top,
            budget,
        }) => {
            let epsilon = Epsilon::from_f64(epsilon).map_err(|e| failure(e.into()))?;
            let budget = budget
                .map(Epsilon::from_f64)
                .transpose()
                .map_err(|e| failure(e.into()))?;
            let r = ctx
                .store
                .transaction(|tx| {
                    if let Some(b) = budget {
                        steward_ads::insights::set_insights_budget(tx, b)?;
                    }
                    let key = schema::noise_key(tx)?;
                    steward_ads::insights::career_transitions(
                        tx,
                        &ctx.ledger,
                        &ctx.policy,
                        &key,
                        epsilon,
                        ctx.now,
                    )
                })
                .map_err(failure)?;
            let mut text = format!("{:<34} {:<34} {:>8}\n", "from", "to", "members");
            for t in r.transitions.iter().take(top) {
                text.push_str(&format!("{:<34} {:<34} {:>8}\n", t.from, t.to, t.count));
            }
            if r.transitions.is_empty() {
                text.push_str("no transition cleared the release threshold\n");
            }
            text.push_str(&format!(
                "{} of {} cells shown ({} below {}); ε {} {}; insights ε spent {} of {} ({} remaining); \
                 noise: discrete Laplace, expected |error| {:.1}; ledger entry {}\n",
                r.transitions.len(),
                r.cells,
                r.suppressed,
                steward_ads::insights::TRANSITIONS_SUPPRESS_BELOW,
                r.epsilon,
                if r.charged { "spent" } else { "(repeated question: same answer, nothing spent)" },
                r.budget.spent,
                r.budget.budget,
                r.budget.remaining,
                r.expected_abs_error,
                r.ledger_seq
            ));
            let rows: Vec<serde_json::Value> = r
                .transitions
                .iter()
                .take(top)
                .map(|t| serde_json::json!({ "from": t.from, "to": t.to, "count": t.count }))
                .collect();
            say(
                global,
                serde_json::json!({
                    "transitions": rows, "shown": r.transitions.len(), "cells": r.cells,
                    "suppressed": r.suppressed, "epsilon": r.epsilon.as_f64(), "charged": r.charged,
                    "budget": { "epsilon": r.budget.budget.as_f64(), "spent": r.budget.spent.as_f64(),
                        "remaining": r.budget.remaining.as_f64() },
                    "expected_abs_error": r.expected_abs_error, "ledger_seq": r.ledger_seq,
                }),
                text,
            )?;
        }
        AdsCommand::Report {
            campaign,
            advertiser,
            by,
            days,
            epsilon,
        } => {
            let by = match by.as_deref() {
                None => None,
                Some(d) => Some(Dimension::parse(d).ok_or_else(|| {
                    Failure::bad_input(
                        "ads.invalid",
                        format!("unknown dimension `{d}`; one of industry, seniority, function, region, company_size"),
                    )
                })?),
            };
            let epsilon = Epsilon::from_f64(epsilon).map_err(|e| failure(e.into()))?;
            let request = ReportRequest {
                campaign_id: campaign,
                by,
                days,
                epsilon,
            };
            let r = ctx
                .store
                .transaction(|tx| {
                    let key = schema::noise_key(tx)?;
                    report::campaign_report(
                        tx,
                        &ctx.ledger,
                        &ctx.policy,
                        &key,
                        &advertiser,
                        &request,
                        ctx.now,
                    )
                })
                .map_err(failure)?;
            let rows: Vec<serde_json::Value> = r
                .rows
                .iter()
                .map(|row| match row.funnel {
                    Some(f) => serde_json::json!({
                        "cell": row.cell, "impressions": f.impressions, "clicks": f.clicks,
                        "conversions": f.conversions,
                    }),
                    None => serde_json::json!({ "cell": row.cell, "suppressed": true }),
                })
                .collect();
            let mut text = format!(
                "campaign {} report, {} day(s) to {} UTC, by {}\n{:<28} {:>12} {:>8} {:>11}\n",
                r.campaign_id,
                days,
                r.to_ms / 1000,
                by.map_or("none", Dimension::name),
                "cell",
                "impressions",
                "clicks",
                "conversions"
            );
            for row in &r.rows {
                match row.funnel {
                    Some(f) => text.push_str(&format!(
                        "{:<28} {:>12} {:>8} {:>11}\n",
                        row.cell, f.impressions, f.clicks, f.conversions
                    )),
                    None => text.push_str(&format!("{:<28} {:>12}\n", row.cell, "(suppressed)")),
                }
            }
            text.push_str(&format!(
                "ε {} {}; campaign ε spent {} of {} ({} remaining); advertiser ε remaining {}\n\
                 noise: discrete Laplace, expected |error| {:.1} / {:.1} / {:.1}; ledger entry {}\n",
                r.epsilon,
                if r.charged { "spent" } else { "(repeated question: same answer, nothing spent)" },
                r.campaign_budget.spent,
                r.campaign_budget.budget,
                r.campaign_budget.remaining,
                r.advertiser_budget.remaining,
                r.expected_abs_error[0],
                r.expected_abs_error[1],
                r.expected_abs_error[2],
                r.ledger_seq
            ));
            say(
                global,
                serde_json::json!({
                    "campaign": r.campaign_id, "by": by.map(Dimension::name),
                    "from_ms": r.from_ms, "to_ms": r.to_ms, "rows": rows,
                    "epsilon": r.epsilon.as_f64(), "charged": r.charged,
                    "campaign_budget": { "epsilon": r.campaign_budget.budget.as_f64(),
                        "spent": r.campaign_budget.spent.as_f64(),
                        "remaining": r.campaign_budget.remaining.as_f64() },
                    "advertiser_budget": { "epsilon": r.advertiser_budget.budget.as_f64(),
                        "spent": r.advertiser_budget.spent.as_f64(),
                        "remaining": r.advertiser_budget.remaining.as_f64() },
                    "expected_abs_error": r.expected_abs_error,
                    "suppressed": r.suppressed, "ledger_seq": r.ledger_seq,
                }),
                text,
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn audience_cmd(ctx: &Ctx, c: AudienceCommand, global: &Global) -> Result<(), Failure> {
    let index = ctx.index()?;
    let saved = match c {
        AudienceCommand::Estimate { expression } => {
            let expr = Expr::parse_allowed(&expression, &ctx.policy).map_err(failure)?;
            let key = ctx.store.transaction(schema::noise_key).map_err(failure)?;
            let e = audience::estimate(&index, &key, &ctx.config, &expr).map_err(failure)?;
            return say(
                global,
                serde_json::json!({ "expression": expr.canonical(), "estimate": estimate_json(&e),
                    "minimum": ctx.config.min_audience() }),
                format!("{}: {}\n", expr.canonical(), e.text()),
            );
        }
        AudienceCommand::Show { advertiser, id } => {
            let (a, e) = ctx
                .store
                .transaction(|tx| {
                    let key = schema::noise_key(tx)?;
                    let a = audience::get(tx, &advertiser, id)?;
                    let n = audience::members(tx, &index, &a)?.len();
                    let canonical = a
                        .expression
                        .clone()
                        .unwrap_or_else(|| format!("matched:{}", a.id));
                    let e = audience::estimate_from_count(&key, &ctx.config, &canonical, n)?;
                    Ok::<_, AdsError>((a, e))
                })
                .map_err(failure)?;
            return say(
                global,
                serde_json::json!({ "id": a.id, "name": a.name, "kind": a.kind.as_str(),
                    "expression": a.expression, "estimate": estimate_json(&e) }),
                format!(
                    "audience {} `{}` ({}): {}\n  {}\n",
                    a.id,
                    a.name,
                    a.kind.as_str(),
                    e.text(),
                    a.expression.as_deref().unwrap_or("matched contact list")
                ),
            );
        }
        AudienceCommand::Create {
            advertiser,
            name,
            expression,
        } => {
            Expr::parse_allowed(&expression, &ctx.policy).map_err(failure)?;
            ctx.store
                .transaction(|tx| {
                    let key = schema::noise_key(tx)?;
                    audience::create(
                        tx,
                        &ctx.ledger,
                        &index,
                        &key,
                        &ctx.config,
                        &advertiser,
                        &name,
                        &expression,
                        ctx.now,
                    )
                })
                .map_err(failure)?
        }
        AudienceCommand::Edit {
            advertiser,
            id,
            expression,
        } => {
            Expr::parse_allowed(&expression, &ctx.policy).map_err(failure)?;
            ctx.store
                .transaction(|tx| {
                    let key = schema::noise_key(tx)?;
                    audience::edit(
                        tx,
                        &ctx.ledger,
                        &index,
                        &key,
                        &ctx.config,
                        &advertiser,
                        id,
                        &expression,
                        ctx.now,
                    )
                })
                .map_err(failure)?
        }
        AudienceCommand::Match {
            advertiser,
            name,
            salt,
            file,
        } => {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                Failure::bad_input("ads.invalid", format!("{}: {e}", file.display()))
            })?;
            let hashes: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            ctx.store
                .transaction(|tx| {
                    let key = schema::noise_key(tx)?;
                    audience::create_matched(
                        tx,
                        &ctx.ledger,
                        &ctx.policy,
                        &index,
                        &key,
                        &ctx.config,
                        &advertiser,
                        &name,
                        &salt,
                        &hashes,
                        ctx.now,
                    )
                })
                .map_err(failure)?
        }
    };
    say(
        global,
        serde_json::json!({ "id": saved.audience.id, "name": saved.audience.name,
            "kind": saved.audience.kind.as_str(), "expression": saved.audience.expression,
            "estimate": estimate_json(&saved.estimate), "ledger_seq": saved.ledger_seq }),
        format!(
            "audience {} `{}` saved: {}; ledger entry {}\n",
            saved.audience.id,
            saved.audience.name,
            saved.estimate.text(),
            saved.ledger_seq
        ),
    )
}

fn campaign_cmd(ctx: &Ctx, c: CampaignCommand, global: &Global) -> Result<(), Failure> {
    let index = ctx.index()?;
    let l = &ctx.ledger;
    let cfg = &ctx.config;
    let now = ctx.now;
    if let CampaignCommand::Enforce = c {
        let paused = ctx
            .store
            .transaction(|tx| campaign::enforce_minimums(tx, l, &index, cfg, now))
            .map_err(failure)?;
        return say(
            global,
            serde_json::json!({ "paused": paused }),
            format!("{} campaign(s) paused below the minimum\n", paused.len()),
        );
    }
    let done = ctx
        .store
        .transaction(|tx| match &c {
            CampaignCommand::Create {
                advertiser,
                name,
                audience,
                budget,
            } => {
                let budget = budget.map(Epsilon::from_f64).transpose()?;
                campaign::create(tx, l, &index, cfg, advertiser, name, *audience, budget, now)
            }
            CampaignCommand::Launch { advertiser, id } => {
                campaign::launch(tx, l, &index, cfg, advertiser, *id, now)
            }
            CampaignCommand::Pause { advertiser, id } => {
                campaign::pause(tx, l, advertiser, *id, now)
            }
            CampaignCommand::Resume { advertiser, id } => {
                campaign::resume(tx, l, &index, cfg, advertiser, *id, now)
            }
            CampaignCommand::Enforce => Err(AdsError::Invalid("handled above".to_owned())),
        })
        .map_err(failure)?;
    say(
        global,
        campaign_json(&done),
        format!(
            "campaign {} `{}`: {}{}\n",
            done.id,
            done.name,
            done.status.as_str(),
            done.pause_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
    )
}
