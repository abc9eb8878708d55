//! One module per subcommand group.

pub mod policy;
pub mod privacy;
pub mod privacy_anon;
pub mod privacy_pii;
