//! Scans the vault benchmark's message corpus, for instruction counts under callgrind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use steward_scan::{ScanFlags, Scanner};

const SENTENCES: &[&str] = &[
    "Hi, thanks for connecting!",
    "Are you open to a senior backend role at our company?",
    "I enjoyed your talk on distributed systems last week.",
    "Could we set up a call on Tuesday afternoon?",
    "Here is the job description: https://www.linkedin.com/jobs/view/3812345",
    "Our repo is at https://github.com/acme/widgets if you want a look.",
    "The salary range is competitive and the team is remote-first.",
    "Let me know what times work for you.",
    "URGENT: verify your account at http://paypa1-account-verify.com/login",
    "slides: https://bit.ly/3xK9pQz",
    "See [my portfolio](https://example.org/portfolio) when you can.",
    "Congratulations on the new position!",
];

fn main() {
    let mut state = 11u64;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % n as u64) as usize
    };
    let corpus: Vec<String> = (0..2000)
        .map(|_| {
            let k = 1 + next(6);
            (0..k)
                .map(|_| SENTENCES[next(SENTENCES.len())])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let scanner = Scanner::builtin().unwrap();
    let flags = ScanFlags {
        harmful_detection: std::env::args().all(|a| a != "--security-only"),
    };
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let mut quarantined = 0;
    let mut digest = 0u64;
    for _ in 0..rounds {
        for m in &corpus {
            let v = scanner.scan_message(m, flags);
            quarantined += usize::from(v.is_quarantined());
            digest = digest
                .wrapping_mul(31)
                .wrapping_add(v.score.to_bits() as u64)
                ^ v.rule_id.map_or(0, |r| r.len() as u64);
        }
    }
    let bytes: usize = corpus.iter().map(String::len).sum();
    println!(
        "{} messages x {rounds}, mean {} B, quarantined {quarantined}, digest {digest:x}",
        corpus.len(),
        bytes / corpus.len()
    );
}
