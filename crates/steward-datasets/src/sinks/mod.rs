//! Sinks: Parquet files, and the staging folder that publishes a dataset atomically.

pub mod parquet;
pub mod publish;
