//! Ads: audiences over allowed professional attributes, a minimum audience enforced on the
//! server, eligibility for ad serving, ad events, and differentially private campaign reports
//! with budgets.
//!
//! Three design decisions carry the promises (P4, P5).
//!
//! **Attributes come only from the gate.** The [`index::AudienceIndex`] is built from what
//! the purpose gate releases for `ads.targeting` in `audience` form: members with personalized
//! ads off, attributes a member switched off, hidden sections, deleted members and minors are
//! simply not in it, and an audience expression can only name the attributes of
//! [`attr::Attribute`] — profile fields; there is no way to write a private-message topic —
//! which are checked again against the active policy. The crate never depends on the vault.
//!
//! **The minimum is the server's, everywhere.** LinkedIn's 300-member minimum lived in the
//! browser; researchers re-enabled the launch button and reached single members (Merino et
//! al., 2024). Here every path that can change or start a campaign's reach — create and edit
//! an audience, attach it, launch, resume — recounts on the index and refuses below the
//! minimum (default 300, never below 100) without saying the count, and
//! [`campaign::enforce_minimums`] pauses campaigns whose audience shrank. Size estimates are
//! noised with consistent noise and rounded to two significant digits.
//!
//! **Reports are DP aggregates with consistent noise and budgets.** Ad events stay in this
//! crate's tables; advertisers get [`report::campaign_report`]s built with
//! `steward_privacy::dp`: contribution bounding, exact discrete Laplace noise seeded from the
//! question's canonical form (the same question gets the same answer and is paid once),
//! suppression of small cells, consistent funnels, and an accountant per advertiser and per
//! campaign that refuses a report past budget. Every audience, campaign transition and report
//! is ledgered without member ids.
//!
//! Functions are synchronous over a [`steward_store::Tx`] with time passed in, so the CLI and
//! an HTTP handler call the same code.

pub mod attr;
pub mod audience;
pub mod campaign;
mod dense;
pub mod eligibility;
pub mod error;
pub mod events;
pub mod expr;
pub mod index;
pub mod insights;
pub mod report;
pub mod schema;

pub use audience::{AdsConfig, Estimate};
pub use eligibility::Eligibility;
pub use error::AdsError;
pub use expr::Expr;
pub use index::AudienceIndex;

/// The purpose audiences are built for.
pub const PURPOSE: &str = "ads.targeting";
