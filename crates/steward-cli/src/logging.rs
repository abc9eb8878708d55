//! Structured logs for long-running commands: JSON lines on stderr, filtered by `RUST_LOG`
//! (default `info`). Handlers log codes and route templates, never member data or secrets.

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
