//! How the binary reports failures: a stable error code, a human message, and the exit code
//! that tells scripts what kind of failure it was.

use std::process::ExitCode;

/// A failed command, classified for its exit code.
#[derive(Debug)]
pub enum Failure {
    /// Exit 1: the answer is "no" (a denied request, a failed check, tampering found).
    Denied { code: String, message: String },
    /// Exit 2: the input was wrong.
    BadInput { code: String, message: String },
    /// Exit 3: something failed that is not the caller's fault.
    Internal(anyhow::Error),
}

impl Failure {
    pub fn bad_input(code: &str, message: impl std::fmt::Display) -> Failure {
        Failure::BadInput {
            code: code.to_owned(),
            message: message.to_string(),
        }
    }
    #[allow(dead_code, reason = "used by subcommands that answer no")]
    pub fn denied(code: &str, message: impl std::fmt::Display) -> Failure {
        Failure::Denied {
            code: code.to_owned(),
            message: message.to_string(),
        }
    }

    /// Prints the failure to stderr (as JSON when asked) and returns its exit code.
    pub fn report(self, json: bool) -> ExitCode {
        let (exit, code, message) = match self {
            Failure::Denied { code, message } => (1, code, message),
            Failure::BadInput { code, message } => (2, code, message),
            Failure::Internal(e) => (3, "internal".to_owned(), format!("{e:#}")),
        };
        if json {
            eprintln!(
                "{}",
                serde_json::json!({ "error": { "code": code, "message": message } })
            );
        } else {
            eprintln!("error[{code}]: {message}");
        }
        ExitCode::from(exit)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Internal(e)
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let mut s = serde_json::to_string_pretty(value).map_err(|e| Failure::Internal(e.into()))?;
    s.push('\n');
    emit(&s)
}

/// Writes `text` to stdout; a reader that closed the pipe early (`| head`) is not a failure.
pub fn emit(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Internal(e.into())),
    }
}
