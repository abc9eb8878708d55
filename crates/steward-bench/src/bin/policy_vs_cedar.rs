//! Policy decisions: Steward's compiled table against an equivalent Cedar policy.
//!
//! The default policy is translated rule by rule into Cedar: purposes become actions,
//! categories become entities whose parents mirror the dotted hierarchy (so `resource in
//! Category::"member.profile"` is Cedar's own hierarchy check), visibility and the member's
//! consent travel in the request context. Both engines decide the same random requests; a
//! request agrees when both allow or both deny, and when they allow, Steward's deciding rule
//! is the first (in file order) of the rules Cedar reports as satisfied — which also fixes
//! the form, since each rule has one form.
//!
//! Usage: `policy-vs-cedar [--requests N] [--timed M] [--quick]`.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression,
};
use rand::{RngExt, SeedableRng};
use steward_bench::median;
use steward_core::taxonomy::name_is_under;
use steward_core::{CategoryId, ConsentSet, Decision, Policy, PurposeId, Visibility};

struct Args {
    requests: usize,
    timed: usize,
    rounds: usize,
}

fn args() -> Result<Args> {
    let mut a = Args {
        requests: 1_000_000,
        timed: 100_000,
        rounds: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--quick" => {
                a.requests = 20_000;
                a.timed = 10_000;
                a.rounds = 3;
            }
            "--requests" => a.requests = it.next().context("--requests N")?.parse()?,
            "--timed" => a.timed = it.next().context("--timed N")?.parse()?,
            other => bail!("unknown argument `{other}`"),
        }
    }
    a.timed = a.timed.min(a.requests);
    Ok(a)
}

fn uid(ty: &str, id: &str) -> Result<EntityUid> {
    EntityUid::from_str(&format!("{ty}::{}", cedar_string(id))).context("entity uid")
}

fn cedar_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The Cedar text of one rule, and the policy set of all of them.
fn translate(policy: &Policy) -> Result<PolicySet> {
    let t = policy.taxonomy();
    let mut set = PolicySet::new();
    for rule in policy.rules() {
        let actions: Vec<String> = t
            .purposes()
            .iter()
            .filter(|p| name_is_under(&p.name, &rule.purpose))
            .map(|p| format!("Action::{}", cedar_string(&p.name)))
            .collect();
        let mut conds = Vec::new();
        if !rule.categories.iter().any(|c| c == "*") {
            let any: Vec<String> = rule
                .categories
                .iter()
                .map(|c| format!("resource in Category::{}", cedar_string(c)))
                .collect();
            conds.push(format!("({})", any.join(" || ")));
        }
        for e in &rule.except {
            conds.push(format!("!(resource in Category::{})", cedar_string(e)));
        }
        if rule.visibility.len() < Visibility::COUNT {
            let any: Vec<String> = rule
                .visibility
                .iter()
                .map(|v| format!("context.visibility == {}", cedar_string(v.as_str())))
                .collect();
            conds.push(format!("({})", any.join(" || ")));
        }
        for k in &rule.consent {
            conds.push(format!(
                "context.consent[{}]",
                cedar_string(t.consent_key_name(*k))
            ));
        }
        let when = if conds.is_empty() {
            String::new()
        } else {
            format!(" when {{ {} }}", conds.join(" && "))
        };
        let text = format!(
            "permit(principal, action in [{}], resource){when};",
            actions.join(", ")
        );
        let p = cedar_policy::Policy::parse(Some(PolicyId::new(&rule.id)), &text)
            .with_context(|| format!("cedar rejects the translation of `{}`: {text}", rule.id))?;
        set.add(p).context("add policy")?;
    }
    Ok(set)
}

fn entities(policy: &Policy) -> Result<Entities> {
    let t = policy.taxonomy();
    let mut list = Vec::new();
    for c in t.categories() {
        let mut parents = HashSet::new();
        if let Some(p) = c.parent {
            parents.insert(uid("Category", t.category_name(p))?);
        }
        list.push(Entity::new(
            uid("Category", &c.name)?,
            HashMap::new(),
            parents,
        )?);
    }
    Ok(Entities::from_entities(list, None)?)
}

#[derive(Clone, Copy)]
struct Req {
    purpose: PurposeId,
    category: CategoryId,
    visibility: Visibility,
    consent: ConsentSet,
}

fn cedar_request(policy: &Policy, r: &Req) -> Result<Request> {
    let t = policy.taxonomy();
    let consent = RestrictedExpression::new_record(t.consent_key_ids().map(|k| {
        (
            t.consent_key_name(k).to_owned(),
            RestrictedExpression::new_bool(r.consent.granted(k)),
        )
    }))?;
    let context = Context::from_pairs([
        (
            "visibility".to_owned(),
            RestrictedExpression::new_string(r.visibility.as_str().to_owned()),
        ),
        ("consent".to_owned(), consent),
    ])?;
    Ok(Request::new(
        uid("Member", "m")?,
        uid("Action", t.purpose_name(r.purpose))?,
        uid("Category", t.category_name(r.category))?,
        context,
        None,
    )?)
}

fn main() -> Result<()> {
    let args = args()?;
    let policy = Policy::builtin()?;
    let t = policy.taxonomy().clone();
    let cedar_policies = translate(&policy)?;
    let cedar_entities = entities(&policy)?;
    let authorizer = Authorizer::new();

    // Leaf purposes are what callers request; parents exist only as prefixes.
    let purposes: Vec<PurposeId> = t
        .purpose_ids()
        .filter(|&p| !t.purposes().iter().any(|q| q.parent == Some(p)))
        .collect();
    let categories: Vec<CategoryId> = t.category_ids().collect();
    let n_keys = t.consent_keys().len();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261129);
    let requests: Vec<Req> = (0..args.requests)
        .map(|_| {
            let mut bits = 0u64;
            for k in 0..n_keys {
                if rng.random_range(0..100) < 85 {
                    bits |= 1 << k;
                }
            }
            Req {
                purpose: purposes[rng.random_range(0..purposes.len())],
                category: categories[rng.random_range(0..categories.len())],
                visibility: Visibility::ALL[rng.random_range(0..Visibility::COUNT)],
                consent: ConsentSet::from_bits(bits),
            }
        })
        .collect();

    // Agreement over every request.
    let (mut agree, mut allowed) = (0usize, 0usize);
    let mut disagreements = Vec::new();
    for r in &requests {
        let ours = policy.decide(r.purpose, r.category, r.visibility, r.consent);
        let response = authorizer.is_authorized(
            &cedar_request(&policy, r)?,
            &cedar_policies,
            &cedar_entities,
        );
        if response.diagnostics().errors().next().is_some() {
            bail!("cedar evaluation error on a request");
        }
        let first_satisfied = response
            .diagnostics()
            .reason()
            .filter_map(|id| {
                policy
                    .rules()
                    .iter()
                    .position(|rule| rule.id == id.to_string())
            })
            .min();
        let same = match (ours, response.decision()) {
            (Decision::Allow { rule, .. }, CedarDecision::Allow) => {
                first_satisfied == Some(rule.index())
            }
            (Decision::Deny(_), CedarDecision::Deny) => true,
            _ => false,
        };
        if same {
            agree += 1;
        } else if disagreements.len() < 5 {
            disagreements.push(format!(
                "{} {} {} -> ours {:?}, cedar {:?}",
                t.purpose_name(r.purpose),
                t.category_name(r.category),
                r.visibility,
                ours,
                response.decision()
            ));
        }
        allowed += usize::from(ours.is_allowed());
    }

    // Timing: Steward over all requests; Cedar over prebuilt requests (construction untimed).
    let mut ours_ns = Vec::new();
    for _ in 0..args.rounds {
        let start = Instant::now();
        let mut n = 0usize;
        for r in &requests {
            n += usize::from(
                black_box(&policy)
                    .decide(r.purpose, r.category, r.visibility, r.consent)
                    .is_allowed(),
            );
        }
        black_box(n);
        ours_ns.push(start.elapsed().as_nanos() as f64 / requests.len() as f64);
    }
    let prebuilt: Vec<Request> = requests[..args.timed]
        .iter()
        .map(|r| cedar_request(&policy, r))
        .collect::<Result<_>>()?;
    let mut cedar_ns = Vec::new();
    for _ in 0..args.rounds {
        let start = Instant::now();
        let mut n = 0usize;
        for q in &prebuilt {
            n += usize::from(
                authorizer
                    .is_authorized(q, &cedar_policies, &cedar_entities)
                    .decision()
                    == CedarDecision::Allow,
            );
        }
        black_box(n);
        cedar_ns.push(start.elapsed().as_nanos() as f64 / prebuilt.len() as f64);
    }
    let (ours, cedar) = (median(&mut ours_ns), median(&mut cedar_ns));
    println!(
        "policy decisions: default policy ({} rules), {} random requests ({} allowed)",
        policy.rules().len(),
        requests.len(),
        allowed
    );
    println!(
        "agreement: {agree} / {} identical (decision and deciding rule)",
        requests.len()
    );
    println!(
        "steward  {ours:>10.1} ns/decision (median of {} rounds over {} requests)",
        args.rounds,
        requests.len()
    );
    println!(
        "cedar    {cedar:>10.1} ns/decision (median of {} rounds over {} prebuilt requests)",
        args.rounds,
        prebuilt.len()
    );
    println!(
        "ratio    {:>10.0}x faster",
        cedar / ours.max(f64::MIN_POSITIVE)
    );
    if agree != requests.len() {
        for d in disagreements {
            eprintln!("disagreement: {d}");
        }
        bail!("{} requests decided differently", requests.len() - agree);
    }
    Ok(())
}
