//! `steward keys init|status|rotate`: the vault's keyring — key-encryption key versions, rotation
//! that re-wraps every member's content key (content is never re-encrypted), and the ledger's
//! public key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;
use steward_store::Store;
use steward_vault::store::{KeyCounts, migrate};
use steward_vault::{Keyring, MemberKeyStore, TxKeyStore, Vault, VaultError};

use crate::Global;
use crate::cmd::seed::store_failure;
use crate::output::{Failure, emit, print_json};

/// `steward keys ...`: where the key file is, then the subcommand.
#[derive(Args, Debug)]
pub struct KeysArgs {
    /// The vault's key file (owner-only, mode 0600; keep it out of database backups).
    #[arg(
        long,
        value_name = "FILE",
        env = "STEWARD_KEY_FILE",
        default_value = "steward.keys",
        global = true
    )]
    pub key_file: PathBuf,
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create the key file (mode 0600, fresh random keys) if it does not exist yet.
    Init,
    /// Show the key-encryption key versions, which ones wrap member keys, member key counts and
    /// the ledger's public key. Never prints a secret.
    Status,
    /// Add a key-encryption key version, re-wrap every member key under it, then destroy the
    /// versions no longer used.
    Rotate {
        /// Keep the old versions in the key file (destroy them later with another rotate).
        #[arg(long)]
        keep_old: bool,
    },
}

pub fn run(args: KeysArgs, global: &Global) -> Result<ExitCode, Failure> {
    let path = args.key_file.as_path();
    if matches!(args.command, KeysCommand::Init) {
        let existed = path.exists();
        let keyring = Keyring::open_or_create(path).map_err(vault_failure)?;
        let public = hex(&keyring.ledger_public_key());
        if global.json {
            print_json(&json!({
                "key_file": path.display().to_string(),
                "created": !existed,
                "current_kek_version": keyring.current_kek_version(),
                "ledger_public_key": public,
            }))?;
        } else {
            let verb = if existed {
                "exists"
            } else {
                "created (mode 0600)"
            };
            emit(&format!(
                "key file {}: {verb}
ledger public key: {public}
",
                path.display()
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let keyring = open_keyring(path)?;
    let store = Store::open(&global.db).map_err(store_failure)?;
    migrate(&store).map_err(vault_failure)?;
    let mut vault = Vault::new(keyring);
    match args.command {
        KeysCommand::Init => {}
        KeysCommand::Status => {
            let (in_use, counts) = store
                .read(|tx| {
                    let mut keys = TxKeyStore::new(tx);
                    let in_use = keys.kek_versions_in_use()?;
                    Ok::<_, VaultError>((in_use, keys.counts()?))
                })
                .map_err(vault_failure)?;
            print_status(path, vault.keyring(), &in_use, counts, global)?;
        }
        KeysCommand::Rotate { keep_old } => {
            let report = store
                .transaction(|tx| vault.rotate(&mut TxKeyStore::new(tx)))
                .map_err(vault_failure)?;
            // Old versions go only after the re-wrapped keys are committed.
            let retired = if keep_old {
                Vec::new()
            } else {
                store
                    .transaction(|tx| vault.retire_unused_keks(&mut TxKeyStore::new(tx)))
                    .map_err(vault_failure)?
            };
            if global.json {
                print_json(&json!({
                    "key_file": path.display().to_string(),
                    "new_kek_version": report.new_version,
                    "rewrapped_member_keys": report.rewrapped,
                    "retired_kek_versions": retired,
                    "kek_versions": vault.keyring().kek_versions(),
                }))?;
            } else {
                emit(&format!(
                    "rotated: key-encryption key v{} is current; {} member keys re-wrapped (content untouched)\nretired versions: {}\n",
                    report.new_version,
                    report.rewrapped,
                    list(&retired)
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open_keyring(path: &Path) -> Result<Keyring, Failure> {
    if !path.exists() {
        return Err(Failure::bad_input(
            "vault.no_key_file",
            format!(
                "no key file at `{}` (create one with `steward keys init`, or pass --key-file / STEWARD_KEY_FILE)",
                path.display()
            ),
        ));
    }
    Keyring::open(path).map_err(vault_failure)
}

fn print_status(
    path: &Path,
    keyring: &Keyring,
    in_use: &[u32],
    counts: KeyCounts,
    global: &Global,
) -> Result<(), Failure> {
    let public = hex(&keyring.ledger_public_key());
    if global.json {
        return print_json(&json!({
            "key_file": path.display().to_string(),
            "current_kek_version": keyring.current_kek_version(),
            "kek_versions": keyring.kek_versions(),
            "kek_versions_in_use": in_use,
            "member_keys": { "active": counts.active, "shredded": counts.shredded },
            "ledger_public_key": public,
        }));
    }
    let retirable: Vec<u32> = keyring
        .kek_versions()
        .into_iter()
        .filter(|v| *v != keyring.current_kek_version() && !in_use.contains(v))
        .collect();
    emit(&format!(
        "key file:               {}\ncurrent KEK version:    {}\nKEK versions held:      {}\nversions wrapping keys: {}\nretirable versions:     {}\nmember keys:            {} active, {} shredded\nledger public key:      {}\n",
        path.display(),
        keyring.current_kek_version(),
        list(&keyring.kek_versions()),
        list(in_use),
        list(&retirable),
        counts.active,
        counts.shredded,
        public,
    ))
}

fn list(versions: &[u32]) -> String {
    if versions.is_empty() {
        return "none".to_owned();
    }
    versions
        .iter()
        .map(|v| format!("v{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn vault_failure(e: VaultError) -> Failure {
    match e {
        VaultError::Store(inner) => store_failure(inner),
        VaultError::KeyFilePermissions { .. } | VaultError::KeyFileFormat { .. } => {
            Failure::bad_input(e.code(), &e)
        }
        other => Failure::Internal(anyhow::anyhow!("{} [{}]", other, other.code())),
    }
}
