//! Group commit: many threads append entries that need no other write, one thread commits
//! them in batches — one transaction and one fsync for many entries. A caller's `append`
//! returns only after its entry is durable, so "acknowledged" always means "committed".

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use steward_store::Store;

use crate::checkpoint::CheckpointSigner;
use crate::entry::Entry;
use crate::error::LedgerError;
use crate::ledger::Ledger;

type Reply = SyncSender<Result<u64, String>>;

/// How the committer batches.
#[derive(Debug, Clone)]
pub struct GroupCommitOptions {
    /// The most entries in one transaction.
    pub max_batch: usize,
    /// Sign a checkpoint in the same transaction as every batch (so tampering is pinned to
    /// one batch), or only when asked.
    pub checkpoint_every_batch: bool,
}

impl Default for GroupCommitOptions {
    fn default() -> Self {
        GroupCommitOptions {
            max_batch: 10_000,
            checkpoint_every_batch: false,
        }
    }
}

/// A handle to the committer thread; cloneable, usable from any thread.
#[derive(Debug, Clone)]
pub struct GroupCommitter {
    sender: SyncSender<(Entry, Reply)>,
}

/// Joins the committer thread when dropped after every handle is gone.
#[derive(Debug)]
pub struct CommitterThread {
    handle: Option<JoinHandle<()>>,
}

impl Drop for CommitterThread {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            // A panicked committer has already failed its callers; nothing to add here.
            let _ = h.join();
        }
    }
}

impl GroupCommitter {
    /// Starts the committer. It stops once every `GroupCommitter` handle is dropped.
    pub fn start(
        store: Arc<Store>,
        ledger: Ledger,
        signer: Option<Arc<CheckpointSigner>>,
        options: GroupCommitOptions,
    ) -> (GroupCommitter, CommitterThread) {
        let (sender, receiver) = sync_channel(options.max_batch.max(1) * 4);
        let handle = std::thread::spawn(move || {
            run(&store, &ledger, signer.as_deref(), &options, &receiver)
        });
        (
            GroupCommitter { sender },
            CommitterThread {
                handle: Some(handle),
            },
        )
    }

    /// Appends one entry and waits until it is committed; returns its sequence number.
    pub fn append(&self, entry: Entry) -> Result<u64, LedgerError> {
        self.submit(entry)?.wait()
    }

    /// Queues one entry without waiting, so one caller can keep many in flight (a server
    /// handling many requests); [`Pending::wait`] returns once it is committed.
    pub fn submit(&self, entry: Entry) -> Result<Pending, LedgerError> {
        let (reply, answer) = sync_channel(1);
        self.sender.send((entry, reply)).map_err(|_| stopped())?;
        Ok(Pending { answer })
    }
}

/// An entry queued for the next group commit.
#[derive(Debug)]
pub struct Pending {
    answer: Receiver<Result<u64, String>>,
}

impl Pending {
    /// Waits until the entry is durable; returns its sequence number.
    pub fn wait(self) -> Result<u64, LedgerError> {
        match self.answer.recv().map_err(|_| stopped())? {
            Ok(seq) => Ok(seq),
            Err(detail) => Err(LedgerError::Storage { detail }),
        }
    }
}

fn stopped() -> LedgerError {
    LedgerError::Storage {
        detail: "the group committer has stopped".into(),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn run(
    store: &Store,
    ledger: &Ledger,
    signer: Option<&CheckpointSigner>,
    options: &GroupCommitOptions,
    receiver: &Receiver<(Entry, Reply)>,
) {
    let max = options.max_batch.max(1);
    let mut entries = Vec::with_capacity(max);
    let mut replies = Vec::with_capacity(max);
    // Block for the first entry, then take whatever else is already waiting: batches grow
    // with load and a lone entry is not delayed.
    while let Ok((entry, reply)) = receiver.recv() {
        entries.push(entry);
        replies.push(reply);
        while entries.len() < max {
            match receiver.recv_timeout(Duration::ZERO) {
                Ok((entry, reply)) => {
                    entries.push(entry);
                    replies.push(reply);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        let batch = std::mem::take(&mut entries);
        let commit = |batch: Vec<Entry>| {
            store.transaction(|tx| {
                let range = ledger.append_batch(tx, batch)?;
                if let (Some(signer), true) = (signer, options.checkpoint_every_batch) {
                    ledger.checkpoint(tx, signer, now_ms())?;
                }
                Ok::<_, LedgerError>(range)
            })
        };
        // Keep a copy only when the batch could fail for one entry's sake (several entries).
        let retry = (batch.len() > 1).then(|| batch.clone());
        match (commit(batch), retry) {
            (Ok(range), _) => {
                for (seq, reply) in range.zip(replies.drain(..)) {
                    // A caller that gave up waiting is not an error for the others.
                    let _ = reply.send(Ok(seq));
                }
            }
            // One invalid entry (say, a member set that was never stored) must not fail the
            // others that happened to share its batch: commit them one by one.
            (Err(_), Some(retry)) => {
                for (entry, reply) in retry.into_iter().zip(replies.drain(..)) {
                    let result = commit(vec![entry])
                        .map(|r| r.start)
                        .map_err(|e| e.to_string());
                    let _ = reply.send(result);
                }
            }
            (Err(e), None) => {
                let message = e.to_string();
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}
