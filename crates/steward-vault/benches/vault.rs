//! Vault and scanner benchmark: seal/open throughput against raw AES-256-GCM on the same
//! buffers, scanner throughput, and message ingest (scan + seal + store) against storing the
//! plaintext, on SQLite — both on a bare table (the cost of each step) and through the real
//! send path (`Safety::send_message`: participant check, recipients' consent, scan, seal, the
//! store's `messages` table; and `Safety::send_batch`, the same checks with one send session per
//! transaction) against `insert_message` of the plaintext into the same table.
//! `-- --quick` for CI; the full run measures longer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use steward_scan::{ScanFlags, Scanner};
use steward_store::content::{NewMessage, insert_message};
use steward_store::{PlaintextForTestsOnly, SealContext, Sealer, Store};
use steward_vault::safety::OutgoingMessage;
use steward_vault::store::migrate;
use steward_vault::{
    InMemoryKeyStore, Keyring, OpenReason, RowBinding, Safety, TxKeyStore, Vault, VaultSealer,
};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

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

fn messages(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Lcg(seed);
    (0..n)
        .map(|_| {
            let k = 1 + rng.below(6);
            (0..k)
                .map(|_| SENTENCES[rng.below(SENTENCES.len())])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn time<T>(budget: Duration, mut f: impl FnMut() -> T) -> (u64, Duration) {
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < budget || runs == 0 {
        black_box(f());
        runs += 1;
    }
    (runs, start.elapsed())
}

fn mb_per_s(bytes: usize, runs: u64, elapsed: Duration) -> f64 {
    bytes as f64 * runs as f64 / elapsed.as_secs_f64() / 1e6
}

fn bench_crypto(budget: Duration) {
    println!(
        "== seal/open vs raw AES-256-GCM (same buffers; vault = per-member key lookup + unwrap + seal)"
    );
    let vault = Vault::new(Keyring::ephemeral().unwrap());
    let mut keys = InMemoryKeyStore::new();
    let raw_key: [u8; 32] = [7; 32];
    let raw = Aes256Gcm::new_from_slice(&raw_key).unwrap();
    let participants = [1i64, 2];
    let reason = OpenReason::ParticipantRead {
        reader: 2,
        participants: &participants,
    };
    for size in [1024usize, 64 * 1024, 1024 * 1024] {
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let row = RowBinding::message(1, 10, 1);
        let (r_seal, t_seal) = time(budget, || vault.seal(&mut keys, &row, &data).unwrap());
        let blob = vault.seal(&mut keys, &row, &data).unwrap();
        let (r_open, t_open) = time(budget, || {
            vault
                .open(&mut keys, &reason, &row, &blob)
                .unwrap()
                .plaintext
                .len()
        });
        let mut buf = data.clone();
        let (r_raw_enc, t_raw_enc) = time(budget, || {
            buf.copy_from_slice(&data);
            let mut nonce = [0u8; 12];
            getrandom::fill(&mut nonce).unwrap();
            raw.encrypt_inout_detached(&Nonce::from(nonce), b"ad", buf.as_mut_slice().into())
                .unwrap()
        });
        let nonce = Nonce::from([1u8; 12]);
        let mut ct = data.clone();
        let tag = raw
            .encrypt_inout_detached(&nonce, b"ad", ct.as_mut_slice().into())
            .unwrap();
        let (r_raw_dec, t_raw_dec) = time(budget, || {
            buf.copy_from_slice(&ct);
            raw.decrypt_inout_detached(&nonce, b"ad", buf.as_mut_slice().into(), &tag)
                .unwrap()
        });
        let seal = mb_per_s(size, r_seal, t_seal);
        let open = mb_per_s(size, r_open, t_open);
        let enc = mb_per_s(size, r_raw_enc, t_raw_enc);
        let dec = mb_per_s(size, r_raw_dec, t_raw_dec);
        println!(
            "{:>8} B  seal {seal:>9.1} MB/s  raw encrypt {enc:>9.1} MB/s  ratio {:.2}  |  open {open:>9.1} MB/s  raw decrypt {dec:>9.1} MB/s  ratio {:.2}",
            size,
            seal / enc,
            open / dec
        );
    }
}

fn bench_scanner(budget: Duration) {
    println!("== scanner");
    let start = Instant::now();
    let scanner = Scanner::builtin().unwrap();
    println!(
        "build (vendored rules, {} blocklisted domains): {:.1} ms",
        scanner.phishing_blocklist_len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    let corpus = messages(2000, 42);
    let bytes: usize = corpus.iter().map(String::len).sum();
    for (label, flags) in [
        (
            "security only",
            ScanFlags {
                harmful_detection: false,
            },
        ),
        (
            "with spam",
            ScanFlags {
                harmful_detection: true,
            },
        ),
    ] {
        let (runs, elapsed) = time(budget, || {
            corpus
                .iter()
                .filter(|m| scanner.scan_message(m, flags).is_quarantined())
                .count()
        });
        let per_s = corpus.len() as f64 * runs as f64 / elapsed.as_secs_f64();
        println!(
            "messages ({label}): {per_s:>10.0} msg/s  ({:.1} MB/s, mean {} B)",
            mb_per_s(bytes, runs, elapsed),
            bytes / corpus.len()
        );
    }
    // Hostile messages at the size limit: markup markers that a search per marker from
    // scratch made quadratic (64 KiB of `](` took ~0.8 s), and 4,000 valid Markdown links.
    let max = steward_vault::safety::messaging::MAX_MESSAGE_BYTES;
    for (label, unit) in [
        ("`](`", "]("),
        ("`<a `", "<a "),
        ("`[x](`", "[x]("),
        ("Markdown links", "[a](http://b.c) "),
    ] {
        let text = unit.repeat(max / unit.len());
        let flags = ScanFlags {
            harmful_detection: true,
        };
        let (runs, elapsed) = time(budget, || scanner.scan_message(&text, flags));
        println!(
            "hostile, {label} x {}: {:.2} ms a message ({:.1} MB/s)",
            max / unit.len(),
            elapsed.as_secs_f64() * 1e3 / runs as f64,
            mb_per_s(text.len(), runs, elapsed)
        );
    }
    let attachment: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 253) as u8).collect();
    let (runs, elapsed) = time(budget, || {
        scanner.scan_attachment(Some("report.pdf"), &attachment)
    });
    println!(
        "attachments (1 MiB, hash + signatures): {:.1} MB/s",
        mb_per_s(attachment.len(), runs, elapsed)
    );
}

#[derive(Clone, Copy, PartialEq)]
enum Ingest {
    Plain,
    /// The send path: the author's key read (or made) in the transaction, then sealed.
    Seal,
    /// The bulk path (generator, import): keys provisioned once, `Sealer` per row.
    SealProvisioned,
    /// Scan, then the send path's per-message key read and seal.
    ScanSeal,
    /// Scan, then seal with provisioned keys: bulk ingest as `send_batch` and import do it
    /// (each author's key read once, not per message).
    ScanSealProvisioned,
}

/// Inserts `corpus` into a fresh SQLite store, `per_tx` messages per transaction; returns the
/// elapsed time.
fn ingest(corpus: &[String], per_tx: usize, mode: Ingest, scanner: &Scanner) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("b.db").display())).unwrap();
    migrate(&store).unwrap();
    store
        .execute_batch(
            "CREATE TABLE bench_messages (message_id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL,
             member_id INTEGER NOT NULL, body BLOB NOT NULL, verdict TEXT, verdict_rule TEXT)",
        )
        .unwrap();
    let vault = Vault::new(Keyring::ephemeral().unwrap());
    let start = Instant::now();
    let sealer = matches!(mode, Ingest::SealProvisioned | Ingest::ScanSealProvisioned)
        .then(|| VaultSealer::provision(&vault, &store, 1..=50).unwrap());
    for (chunk_index, chunk) in corpus.chunks(per_tx).enumerate() {
        store
            .transaction(|tx| {
                for (i, text) in chunk.iter().enumerate() {
                    let id = (chunk_index * per_tx + i) as i64 + 1;
                    let author = id % 50 + 1;
                    let conversation = id % 97 + 1;
                    let verdict = matches!(mode, Ingest::ScanSeal | Ingest::ScanSealProvisioned)
                        .then(|| {
                            scanner.scan_message(
                                text,
                                ScanFlags {
                                    harmful_detection: true,
                                },
                            )
                        });
                    let body = if mode == Ingest::Plain {
                        text.as_bytes().to_vec()
                    } else if let Some(sealer) = &sealer {
                        let context = SealContext {
                            table: "messages",
                            row_id: id,
                            member_id: author,
                            container_id: Some(conversation),
                        };
                        sealer
                            .seal(&context, text.as_bytes())
                            .unwrap()
                            .into_stored_bytes()
                    } else {
                        let row = RowBinding::message(id, conversation, author);
                        vault.seal(&mut TxKeyStore::new(tx), &row, text.as_bytes())?
                    };
                    tx.execute(
                        "INSERT INTO bench_messages VALUES ($1, $2, $3, $4, $5, $6)",
                        &[
                            id.into(),
                            conversation.into(),
                            author.into(),
                            body.into(),
                            verdict.map(|v| v.kind.as_str()).into(),
                            verdict.and_then(|v| v.rule_id).into(),
                        ],
                    )?;
                }
                Ok::<_, steward_vault::VaultError>(())
            })
            .unwrap();
    }
    start.elapsed()
}

fn bench_ingest(batched: usize, single: usize, reps: usize) {
    let scanner = Scanner::builtin().unwrap();
    for (n, per_tx, label) in [
        (batched, 200, "bulk: 200 messages per transaction"),
        (
            single,
            1,
            "one message per transaction (the send path; WAL, synchronous=FULL)",
        ),
    ] {
        println!(
            "== ingest on SQLite, {label}, {n} messages, 50 authors, best of {reps} interleaved runs"
        );
        let corpus = messages(n, 7);
        let modes = [
            Ingest::Plain,
            Ingest::Seal,
            Ingest::SealProvisioned,
            Ingest::ScanSeal,
            Ingest::ScanSealProvisioned,
        ];
        // One untimed run first, so the first measured mode does not pay the warm-up (page
        // cache, allocator, prepared statements).
        ingest(&corpus[..n.min(500)], per_tx, Ingest::ScanSeal, &scanner);
        let mut best = [0f64; 5];
        for _ in 0..reps {
            for (slot, mode) in best.iter_mut().zip(modes) {
                let rate = n as f64 / ingest(&corpus, per_tx, mode, &scanner).as_secs_f64();
                *slot = slot.max(rate);
            }
        }
        let [plain, seal, provisioned, scan_seal, scan_provisioned] = best;
        println!("plaintext store:      {plain:>10.0} msg/s");
        println!(
            "seal + store:         {seal:>10.0} msg/s  ratio {:.2}: sealing with a key read per message (one Vault::seal call each) costs {:.0} % of plaintext ingest throughput (goal < 30 %)",
            seal / plain,
            (1.0 - seal / plain) * 100.0
        );
        println!(
            "provisioned sealer:   {provisioned:>10.0} msg/s  ratio {:.2}: sealing costs {:.0} % (bulk import/generator path)",
            provisioned / plain,
            (1.0 - provisioned / plain) * 100.0
        );
        println!(
            "scan + seal + store:  {scan_seal:>10.0} msg/s  ratio {:.2}: scanning and sealing with a key read per message cost {:.0} %",
            scan_seal / plain,
            (1.0 - scan_seal / plain) * 100.0
        );
        println!(
            "scan + provisioned:   {scan_provisioned:>10.0} msg/s  ratio {:.2}: scanning and sealing with each author's key read once (bulk ingest) cost {:.0} % (goal < 30 %)",
            scan_provisioned / plain,
            (1.0 - scan_provisioned / plain) * 100.0
        );
    }
}

/// A fresh store with the real schema: 50 members, 97 two-member conversations.
fn send_store(dir: &std::path::Path) -> Store {
    let store = Store::open(&format!("sqlite://{}", dir.join("s.db").display())).unwrap();
    steward_vault::safety::migrate(&store).unwrap();
    store
        .transaction(|tx| {
            for m in 1..=50i64 {
                tx.execute(
                    "INSERT INTO members (member_id, first_name, last_name, email, country, \
                     jurisdiction, created_at) VALUES ($1, 'B', 'M', 'b@example.org', 'US', 'US', 0)",
                    &[m.into()],
                )?;
            }
            for c in 1..=97i64 {
                let (a, b) = conversation_members(c);
                tx.execute(
                    "INSERT INTO conversations (conversation_id, member_id, created_at) VALUES ($1, $2, 0)",
                    &[c.into(), a.into()],
                )?;
                for m in [a, b] {
                    tx.execute(
                        "INSERT INTO conversation_participants (conversation_id, member_id, joined_at) \
                         VALUES ($1, $2, 0)",
                        &[c.into(), m.into()],
                    )?;
                }
            }
            Ok::<_, steward_store::StoreError>(())
        })
        .unwrap();
    store
}

fn conversation_members(c: i64) -> (i64, i64) {
    (c % 50 + 1, (c + 7) % 50 + 1)
}

#[derive(Clone, Copy, PartialEq)]
enum Send {
    /// `insert_message` of the plaintext: the baseline.
    Plain,
    /// `Safety::send_message` per message: every lookup per message.
    PerMessage,
    /// `Safety::send_batch`: one send session per transaction.
    Batch,
}

/// Messages through `Safety::send_message`, `Safety::send_batch`, or the plaintext through
/// `insert_message` into the same `messages` table; returns the elapsed time.
fn send_ingest(corpus: &[String], per_tx: usize, mode: Send, scanner: &Scanner) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let store = send_store(dir.path());
    let vault = Vault::new(Keyring::ephemeral().unwrap());
    let taxonomy = steward_core::Taxonomy::builtin();
    let safety = Safety::new(&vault, scanner, &taxonomy, "bench");
    let start = Instant::now();
    for (chunk_index, chunk) in corpus.chunks(per_tx).enumerate() {
        store
            .transaction(|tx| {
                let outgoing = chunk.iter().enumerate().map(|(i, text)| {
                    let n = (chunk_index * per_tx + i) as i64;
                    let conversation = n % 97 + 1;
                    OutgoingMessage {
                        author: conversation_members(conversation).0,
                        conversation,
                        text,
                        attachments: &[],
                        at_ms: n,
                    }
                });
                match mode {
                    Send::Plain => {
                        for m in outgoing {
                            insert_message(
                                tx,
                                &PlaintextForTestsOnly,
                                &NewMessage {
                                    conversation_id: m.conversation,
                                    author_id: m.author,
                                    sent_at_ms: m.at_ms,
                                    plaintext: m.text.as_bytes(),
                                    verdict: None,
                                },
                            )?;
                        }
                    }
                    Send::PerMessage => {
                        for m in outgoing {
                            safety.send_message(
                                tx,
                                m.author,
                                m.conversation,
                                m.text,
                                &[],
                                m.at_ms,
                            )?;
                        }
                    }
                    Send::Batch => {
                        let batch: Vec<OutgoingMessage<'_>> = outgoing.collect();
                        safety.send_batch(tx, &batch)?;
                    }
                }
                Ok::<_, steward_vault::SafetyError>(())
            })
            .unwrap();
    }
    start.elapsed()
}

fn bench_send(batched: usize, single: usize, reps: usize) {
    let scanner = Scanner::builtin().unwrap();
    for (n, per_tx, label) in [
        (batched, 200, "200 messages per transaction"),
        (single, 1, "one message per transaction"),
    ] {
        if n == 0 {
            continue;
        }
        println!(
            "== the real send path on SQLite's `messages` table, {label}, {n} messages, best of {reps} interleaved runs"
        );
        let corpus = messages(n, 11);
        send_ingest(&corpus[..n.min(300)], per_tx, Send::Batch, &scanner);
        let modes = [Send::Plain, Send::PerMessage, Send::Batch];
        let mut best = [0f64; 3];
        for _ in 0..reps {
            for (slot, mode) in best.iter_mut().zip(modes) {
                let rate = n as f64 / send_ingest(&corpus, per_tx, mode, &scanner).as_secs_f64();
                *slot = slot.max(rate);
            }
        }
        let [plain, send, batch] = best;
        // Where the batched path's extra time goes: the scanner alone on the same messages,
        // with spam scanning on (every recipient has the default `messaging.harmful_detection`).
        let flags = ScanFlags {
            harmful_detection: true,
        };
        let (runs, elapsed) = time(Duration::from_millis(500), || {
            corpus
                .iter()
                .filter(|m| scanner.scan_message(m, flags).is_quarantined())
                .count()
        });
        let scan_us = elapsed.as_secs_f64() * 1e6 / (runs as f64 * n as f64);
        let extra_us = 1e6 / batch - 1e6 / plain;
        println!("insert_message, plaintext: {plain:>10.0} msg/s");
        println!(
            "send_message:              {send:>10.0} msg/s  ratio {:.2}: participant check, consent, scan and seal cost {:.0} % of plaintext ingest throughput (goal < 30 %)",
            send / plain,
            (1.0 - send / plain) * 100.0
        );
        println!(
            "send_batch (one session):  {batch:>10.0} msg/s  ratio {:.2}: the same checks, looked up once per transaction, ids reserved at once: cost {:.0} % (goal < 30 %)",
            batch / plain,
            (1.0 - batch / plain) * 100.0
        );
        println!(
            "  send_batch adds {extra_us:.1} µs per message over plaintext; the scanner alone takes {scan_us:.1} µs of it ({:.0} %)",
            scan_us / extra_us * 100.0
        );
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = if quick {
        Duration::from_millis(150)
    } else {
        Duration::from_secs(2)
    };
    println!(
        "steward-vault benchmark ({})",
        if quick { "quick" } else { "full" }
    );
    // `--scan-only`: just the scanner (for profiling it).
    if std::env::args().any(|a| a == "--scan-only") {
        bench_scanner(budget);
        return;
    }
    // `--send-only`: just the real send path (for profiling it).
    if std::env::args().any(|a| a == "--send-only") {
        // `--batched-only`: skip the one-message-per-transaction half (for profiling).
        let single = if std::env::args().any(|a| a == "--batched-only") {
            0
        } else {
            200
        };
        bench_send(if quick { 2_000 } else { 20_000 }, single, 1);
        return;
    }
    bench_crypto(budget);
    bench_scanner(budget);
    if quick {
        bench_ingest(4_000, 200, 1);
        bench_send(2_000, 200, 1);
    } else {
        bench_ingest(20_000, 1_000, 3);
        bench_send(20_000, 1_000, 3);
    }
}
