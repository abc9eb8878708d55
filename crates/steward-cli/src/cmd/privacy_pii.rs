//! `steward privacy detect` and `steward privacy scrub`: PII detection and scrubbing over
//! JSON lines or plain text, streaming one record at a time.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use steward_privacy::pii::{Detection, Detector, Scratch, Scrubber};
use steward_privacy::pseudonym::MasterKey;

use crate::Global;
use crate::output::Failure;

/// Default confidence below which detections are not reported: lone capitalised words that are
/// neither in a name list nor near a cue fall under it.
const DEFAULT_MIN_CONFIDENCE: f32 = 0.4;

#[derive(clap::Args, Debug)]
pub struct DetectArgs {
    /// JSON lines with `id` and `text` (`-` for stdin). Writes one line per record:
    /// `{"id": .., "spans": [{"type", "start", "end", "score"}]}` with character offsets and
    /// Presidio's type names.
    #[arg(long)]
    pub jsonl: PathBuf,
    /// Report only detections at least this confident (0..1).
    #[arg(long, default_value_t = DEFAULT_MIN_CONFIDENCE)]
    pub min_confidence: f32,
    /// Leave out kinds Presidio has no name for (AGE, TITLE); by default they are reported
    /// under Steward's names (the scorer counts them as predictions of their own type).
    #[arg(long)]
    pub presidio_kinds_only: bool,
    /// Benchmark: run detection over all records this many times (single thread) and print the
    /// median throughput as JSON on stderr; predictions are written once.
    #[arg(long, value_name = "N")]
    pub repeat: Option<usize>,
}

#[derive(clap::Args, Debug)]
pub struct ScrubArgs {
    /// JSON lines with `id` and `text` (`-` for stdin); writes the same lines with `text`
    /// scrubbed. Without it, reads plain text from stdin and scrubs each line.
    #[arg(long)]
    pub jsonl: Option<PathBuf>,
    /// Replace spans by keyed pseudonyms (`<PERSON:3f9a..>`) instead of placeholders; needs
    /// `--release` and a master key.
    #[arg(long, requires = "release")]
    pub pseudonyms: bool,
    /// Release name the pseudonym key is derived for: the same name gives the same pseudonyms.
    #[arg(long)]
    pub release: Option<String>,
    /// File holding the 64-hex-digit master key (else the environment variable).
    #[arg(long, env = "STEWARD_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Scrub only detections at least this confident (0..1).
    #[arg(long, default_value_t = DEFAULT_MIN_CONFIDENCE)]
    pub min_confidence: f32,
}

fn detector(min_confidence: f32) -> Result<Detector, Failure> {
    if !(0.0..=1.0).contains(&min_confidence) {
        return Err(Failure::bad_input(
            "pii.bad_confidence",
            format!("--min-confidence must be within 0..1, got `{min_confidence}`"),
        ));
    }
    Detector::new()
        .map(|d| d.with_min_confidence(min_confidence))
        .map_err(|e| Failure::Internal(anyhow::anyhow!("{}: {e}", e.code())))
}

fn open_input(path: &Path) -> Result<Box<dyn BufRead>, Failure> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin().lock()));
    }
    let file = std::fs::File::open(path).map_err(|e| {
        Failure::bad_input(
            "io.unreadable",
            format!("cannot read `{}`: {e}", path.display()),
        )
    })?;
    Ok(Box::new(std::io::BufReader::new(file)))
}

/// One input record: its id (any JSON value, echoed back) and its text.
fn parse_record(line: &str, line_no: usize) -> Result<(serde_json::Value, String), Failure> {
    let bad = |msg: &str| Failure::bad_input("pii.bad_record", format!("line {line_no}: {msg}"));
    let mut value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| bad(&format!("not JSON: {e}")))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| bad("not a JSON object"))?;
    let text = match obj.remove("text") {
        Some(serde_json::Value::String(s)) => s,
        _ => return Err(bad("missing string field `text`")),
    };
    let id = obj.remove("id").unwrap_or(serde_json::Value::Null);
    Ok((id, text))
}

fn write_out(out: &mut impl Write, line: &[u8]) -> Result<bool, Failure> {
    match out.write_all(line) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Failure::Internal(e.into())),
    }
}

fn prediction_line(
    id: &serde_json::Value,
    detections: &[Detection],
    all_kinds: bool,
) -> Result<Vec<u8>, Failure> {
    let spans: Vec<serde_json::Value> = detections
        .iter()
        .filter_map(|d| {
            let name = match d.kind.presidio_name() {
                Some(n) => n,
                None if all_kinds => d.kind.name(),
                None => return None,
            };
            Some(serde_json::json!({
                "type": name,
                "start": d.char_start,
                "end": d.char_end,
                "score": (f64::from(d.confidence) * 1000.0).round() / 1000.0,
            }))
        })
        .collect();
    let mut line = serde_json::to_vec(&serde_json::json!({ "id": id, "spans": spans }))
        .context("encoding a prediction")?;
    line.push(b'\n');
    Ok(line)
}

pub fn detect(args: DetectArgs, _global: &Global) -> Result<ExitCode, Failure> {
    let detector = detector(args.min_confidence)?;
    let input = open_input(&args.jsonl)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut scratch = Scratch::default();
    let mut found = Vec::new();

    if let Some(runs) = args.repeat {
        let mut records = Vec::new();
        for (n, line) in input.lines().enumerate() {
            let line = line.context("reading input")?;
            if !line.trim().is_empty() {
                records.push(parse_record(&line, n + 1)?);
            }
        }
        let mut seconds = Vec::with_capacity(runs.max(1));
        let mut cpu_seconds = Vec::with_capacity(runs.max(1));
        let mut spans = 0usize;
        for _ in 0..runs.max(1) {
            let t0 = Instant::now();
            let cpu0 = thread_cpu_seconds();
            spans = 0;
            for (_, text) in &records {
                detector.detect_into(text, &mut scratch, &mut found);
                spans += found.len();
            }
            seconds.push(t0.elapsed().as_secs_f64());
            if let (Some(a), Some(b)) = (cpu0, thread_cpu_seconds()) {
                cpu_seconds.push(b - a);
            }
        }
        let rate = |mut xs: Vec<f64>| {
            xs.sort_by(f64::total_cmp);
            xs.get(xs.len() / 2)
                .filter(|m| **m > 0.0)
                .map(|m| (*m, (records.len() as f64 / m).round()))
        };
        let wall = rate(seconds.clone());
        let cpu = rate(cpu_seconds);
        eprintln!(
            "{}",
            serde_json::json!({
                "system": "steward", "sentences": records.len(), "runs": seconds.len(),
                "median_seconds": wall.map(|w| w.0), "sentences_per_s": wall.map(|w| w.1),
                "median_cpu_seconds": cpu.map(|c| c.0), "sentences_per_cpu_s": cpu.map(|c| c.1),
                "spans": spans,
            })
        );
        for (id, text) in &records {
            detector.detect_into(text, &mut scratch, &mut found);
            if !write_out(
                &mut out,
                &prediction_line(id, &found, !args.presidio_kinds_only)?,
            )? {
                return Ok(ExitCode::SUCCESS);
            }
        }
    } else {
        for (n, line) in input.lines().enumerate() {
            let line = line.context("reading input")?;
            if line.trim().is_empty() {
                continue;
            }
            let (id, text) = parse_record(&line, n + 1)?;
            detector.detect_into(&text, &mut scratch, &mut found);
            if !write_out(
                &mut out,
                &prediction_line(&id, &found, !args.presidio_kinds_only)?,
            )? {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    match out.flush() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(Failure::Internal(e.into())),
    }
}

/// CPU time of the calling thread, from Linux's scheduler statistics (first field, in
/// nanoseconds). On a shared machine it measures the work, not the wait for a core.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

pub fn scrub(args: ScrubArgs, _global: &Global) -> Result<ExitCode, Failure> {
    let detector = detector(args.min_confidence)?;
    let release_key = if args.pseudonyms {
        let path = args.master_key_file.as_ref().ok_or_else(|| {
            Failure::bad_input(
                "pseudonym.no_key",
                "--pseudonyms needs --master-key-file (or STEWARD_MASTER_KEY_FILE)",
            )
        })?;
        let hex = std::fs::read_to_string(path).map_err(|e| {
            Failure::bad_input(
                "io.unreadable",
                format!("cannot read `{}`: {e}", path.display()),
            )
        })?;
        let master = MasterKey::from_hex(&hex).map_err(|e| Failure::bad_input(e.code(), e))?;
        let release = args.release.as_deref().unwrap_or_default();
        Some(
            master
                .release_key(release)
                .map_err(|e| Failure::bad_input(e.code(), e))?,
        )
    } else {
        None
    };
    let scrubber = match &release_key {
        Some(key) => Scrubber::pseudonyms(key),
        None => Scrubber::placeholders(),
    };
    let input: Box<dyn BufRead> = match &args.jsonl {
        Some(path) => open_input(path)?,
        None => Box::new(std::io::stdin().lock()),
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut scratch = Scratch::default();
    let mut found = Vec::new();
    let mut scrubbed = String::new();
    for (n, line) in input.lines().enumerate() {
        let line = line.context("reading input")?;
        let mut bytes = if args.jsonl.is_some() {
            if line.trim().is_empty() {
                continue;
            }
            let (id, text) = parse_record(&line, n + 1)?;
            detector.detect_into(&text, &mut scratch, &mut found);
            scrubbed.clear();
            scrubber.scrub_into(&text, &found, &mut scrubbed);
            serde_json::to_vec(&serde_json::json!({ "id": id, "text": scrubbed }))
                .context("encoding a record")?
        } else {
            detector.detect_into(&line, &mut scratch, &mut found);
            scrubbed.clear();
            scrubber.scrub_into(&line, &found, &mut scrubbed);
            scrubbed.clone().into_bytes()
        };
        bytes.push(b'\n');
        if !write_out(&mut out, &bytes)? {
            return Ok(ExitCode::SUCCESS);
        }
    }
    match out.flush() {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(Failure::Internal(e.into())),
    }
}
