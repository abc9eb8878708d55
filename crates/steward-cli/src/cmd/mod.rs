//! One module per subcommand group.

pub mod ads;
pub mod canary;
pub mod cases;
pub mod datasets;
pub mod demo;
pub mod import;
pub mod keys;
pub mod ledger;
pub mod member;
pub mod messages;
pub mod policy;
pub mod privacy;
pub mod privacy_anon;
pub mod privacy_pii;
pub mod seed;
pub mod serve;
pub mod staff;
pub mod tokens;
