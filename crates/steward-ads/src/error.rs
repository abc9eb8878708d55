//! The crate's one error type, with a stable code per kind.

use thiserror::Error;

/// Why an ads operation was refused or failed.
#[derive(Debug, Error)]
pub enum AdsError {
    /// An audience expression does not parse; `column` counts characters from 1.
    #[error("column {column}: {message}")]
    Parse { column: usize, message: String },
    /// The expression names an attribute that does not exist for targeting.
    #[error("column {column}: unknown attribute `{name}`; audiences may use {allowed}")]
    UnknownAttribute {
        column: usize,
        name: String,
        allowed: String,
    },
    /// The attribute exists but the active policy does not allow it for `ads.targeting`.
    #[error("attribute `{attribute}` is not allowed for ads.targeting by policy {policy}")]
    AttributeNotAllowed { attribute: String, policy: String },
    /// The audience (or a matched list) reaches fewer members than the minimum. The message
    /// never says how many: that number is what a micro-targeter wants.
    #[error("the audience reaches fewer than the minimum of {minimum} members")]
    AudienceTooSmall { minimum: u32 },
    #[error("the matched list matches fewer than the minimum of {minimum} members")]
    MatchedTooSmall { minimum: u32 },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("no {0}")]
    NotFound(String),
    /// The campaign is not in a state that allows the action.
    #[error("campaign {campaign} is {status}: cannot {action}")]
    InvalidState {
        campaign: i64,
        status: String,
        action: &'static str,
    },
    #[error(transparent)]
    Dp(#[from] steward_privacy::dp::DpError),
    #[error(transparent)]
    Gate(#[from] steward_store::GateError),
    #[error(transparent)]
    Store(#[from] steward_store::StoreError),
    #[error(transparent)]
    Ledger(#[from] steward_ledger::LedgerError),
}

impl AdsError {
    pub fn code(&self) -> &'static str {
        match self {
            AdsError::Parse { .. } => "ads.parse",
            AdsError::UnknownAttribute { .. } => "ads.unknown_attribute",
            AdsError::AttributeNotAllowed { .. } => "ads.attribute_not_allowed",
            AdsError::AudienceTooSmall { .. } => "ads.audience_too_small",
            AdsError::MatchedTooSmall { .. } => "ads.matched_too_small",
            AdsError::Config(_) => "ads.config",
            AdsError::Invalid(_) => "ads.invalid",
            AdsError::NotFound(_) => "ads.not_found",
            AdsError::InvalidState { .. } => "ads.invalid_state",
            AdsError::Dp(e) => e.code(),
            AdsError::Gate(e) => e.code(),
            AdsError::Store(e) => e.code(),
            AdsError::Ledger(e) => e.code(),
        }
    }

    /// Whether the caller asked for something refused (as opposed to a failure of ours).
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            AdsError::Store(_) | AdsError::Ledger(_) | AdsError::Gate(_)
        )
    }
}
