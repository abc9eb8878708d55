//! The keyring: versioned key-encryption keys and the ledger's signing key, kept in one key file
//! that only its owner may read.
//!
//! Key file format (text, one entry a line, `#` comments):
//!
//! ```text
//! steward-keyring 1
//! current-kek 2
//! kek 1 <64 hex digits>
//! kek 2 <64 hex digits>
//! ledger-signing <64 hex digits>
//! ```
//!
//! The file is written whole to a sibling temporary file created with mode 0600, synced, and
//! renamed over the old one, so a crash leaves either the old or the new keyring, never half.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use crate::VaultError;
use crate::envelope::{KEY_LEN, SecretKey};

const HEADER: &str = "steward-keyring 1";

/// Versioned key-encryption keys (KEKs) and the ledger signing key.
///
/// KEKs only ever encrypt members' content keys, never content. Rotation adds a version and
/// makes it current; wrapped content keys are then re-wrapped under it (see
/// [`crate::Vault::rewrap_all`]) and old versions dropped once nothing uses them.
pub struct Keyring {
    path: Option<PathBuf>,
    keks: BTreeMap<u32, SecretKey>,
    current: u32,
    ledger_signing: SecretKey,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("path", &self.path)
            .field("kek_versions", &self.kek_versions())
            .field("current_kek", &self.current)
            .field("ledger_public_key", &hex::encode(self.ledger_public_key()))
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// A keyring that lives in memory only (tests, benchmarks, throwaway demos).
    pub fn ephemeral() -> Result<Keyring, VaultError> {
        let mut keks = BTreeMap::new();
        keks.insert(1, SecretKey::random()?);
        Ok(Keyring {
            path: None,
            keks,
            current: 1,
            ledger_signing: SecretKey::random()?,
        })
    }

    /// Opens the key file at `path`, creating it (mode 0600, fresh random keys) if it does not
    /// exist. A key file that group or others can access is refused.
    pub fn open_or_create(path: &Path) -> Result<Keyring, VaultError> {
        match fs::symlink_metadata(path) {
            Ok(_) => Keyring::open(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut ring = Keyring::ephemeral()?;
                ring.path = Some(path.to_path_buf());
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fs::create_dir_all(parent).map_err(|source| VaultError::KeyFileIo {
                        path: path.to_path_buf(),
                        source,
                    })?;
                }
                ring.persist()?;
                Ok(ring)
            }
            Err(source) => Err(VaultError::KeyFileIo {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Opens an existing key file.
    pub fn open(path: &Path) -> Result<Keyring, VaultError> {
        check_permissions(path)?;
        let text =
            Zeroizing::new(
                fs::read_to_string(path).map_err(|source| VaultError::KeyFileIo {
                    path: path.to_path_buf(),
                    source,
                })?,
            );
        let mut ring = parse(path, &text)?;
        ring.path = Some(path.to_path_buf());
        Ok(ring)
    }

    /// Where the keyring is kept, if on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The KEK version new wraps use.
    pub fn current_kek_version(&self) -> u32 {
        self.current
    }

    /// Every KEK version held, oldest first.
    pub fn kek_versions(&self) -> Vec<u32> {
        self.keks.keys().copied().collect()
    }

    pub(crate) fn current_kek(&self) -> Result<&SecretKey, VaultError> {
        self.kek(self.current)
    }

    pub(crate) fn kek(&self, version: u32) -> Result<&SecretKey, VaultError> {
        self.keks
            .get(&version)
            .ok_or(VaultError::UnknownKekVersion { version })
    }

    /// Adds a new KEK version, makes it current and saves the key file. Returns the new version.
    /// Existing wrapped keys stay readable under their old version until re-wrapped.
    pub fn rotate(&mut self) -> Result<u32, VaultError> {
        let next = self
            .keks
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or(VaultError::Malformed("KEK version space exhausted"))?;
        self.keks.insert(next, SecretKey::random()?);
        let previous = self.current;
        self.current = next;
        if let Err(e) = self.persist() {
            self.keks.remove(&next);
            self.current = previous;
            return Err(e);
        }
        Ok(next)
    }

    /// Drops a KEK version (destroying it) and saves the key file. The caller must know no
    /// wrapped key uses it any more; [`crate::Vault::retire_unused_keks`] checks that for you.
    /// The current version cannot be dropped.
    pub fn drop_kek(&mut self, version: u32) -> Result<(), VaultError> {
        if version == self.current {
            return Err(VaultError::KekInUse {
                version,
                reason: "it is the current version",
            });
        }
        let Some(removed) = self.keks.remove(&version) else {
            return Err(VaultError::UnknownKekVersion { version });
        };
        if let Err(e) = self.persist() {
            self.keks.insert(version, removed);
            return Err(e);
        }
        Ok(())
    }

    /// The ledger's Ed25519 signing key (wiped on drop; its `Debug` shows only the public key).
    pub fn ledger_signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(self.ledger_signing.expose())
    }

    /// The ledger signing key's 32-byte seed, for crates that take raw key bytes.
    pub fn ledger_signing_key_bytes(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(*self.ledger_signing.expose())
    }

    /// The ledger's Ed25519 public (verifying) key.
    pub fn ledger_public_key(&self) -> [u8; 32] {
        self.ledger_signing_key().verifying_key().to_bytes()
    }

    fn persist(&self) -> Result<(), VaultError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let io = |source| VaultError::KeyFileIo {
            path: path.clone(),
            source,
        };
        let mut text = Zeroizing::new(String::with_capacity(256));
        text.push_str(HEADER);
        text.push_str("\n# secret: owner-only (0600); never commit it, never back it up beside the database\n");
        text.push_str(&format!("current-kek {}\n", self.current));
        for (version, key) in &self.keks {
            text.push_str(&format!("kek {version} "));
            push_hex(&mut text, key.expose());
            text.push('\n');
        }
        text.push_str("ledger-signing ");
        push_hex(&mut text, self.ledger_signing.expose());
        text.push('\n');

        let tmp = tmp_path(path);
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let mut file = create_owner_only(&tmp).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        drop(file);
        fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(dir) = fs::File::open(dir)
        {
            // Best effort: make the rename durable. Not every platform can sync a directory.
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn push_hex(out: &mut String, bytes: &[u8; KEY_LEN]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

#[cfg(unix)]
fn create_owner_only(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_owner_only(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), VaultError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path).map_err(|source| VaultError::KeyFileIo {
        path: path.to_path_buf(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(VaultError::KeyFilePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), VaultError> {
    // Windows ACLs are not modelled; Steward's supported platforms are Unix.
    Ok(())
}

fn parse(path: &Path, text: &str) -> Result<Keyring, VaultError> {
    let err = |line: usize, message: &str| VaultError::KeyFileFormat {
        path: path.to_path_buf(),
        line,
        message: message.to_string(),
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    match lines.next() {
        Some((_, HEADER)) => {}
        Some((n, _)) => return Err(err(n, "expected `steward-keyring 1` header")),
        None => return Err(err(0, "empty key file")),
    }
    let mut current = None;
    let mut keks = BTreeMap::new();
    let mut ledger = None;
    for (n, line) in lines {
        let mut words = line.split_ascii_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("current-kek"), Some(v), None, None) => {
                current = Some(v.parse::<u32>().map_err(|_| err(n, "bad KEK version"))?);
            }
            (Some("kek"), Some(v), Some(hex_key), None) => {
                let version = v.parse::<u32>().map_err(|_| err(n, "bad KEK version"))?;
                let key =
                    decode_key(hex_key).ok_or_else(|| err(n, "bad key: need 64 hex digits"))?;
                if keks.insert(version, key).is_some() {
                    return Err(err(n, "duplicate KEK version"));
                }
            }
            (Some("ledger-signing"), Some(hex_key), None, None) => {
                let key =
                    decode_key(hex_key).ok_or_else(|| err(n, "bad key: need 64 hex digits"))?;
                if ledger.replace(key).is_some() {
                    return Err(err(n, "duplicate ledger signing key"));
                }
            }
            _ => return Err(err(n, "unknown entry")),
        }
    }
    let current = current.ok_or_else(|| err(0, "missing `current-kek`"))?;
    if !keks.contains_key(&current) {
        return Err(err(
            0,
            "`current-kek` names a version that is not in the file",
        ));
    }
    let ledger_signing = ledger.ok_or_else(|| err(0, "missing `ledger-signing` key"))?;
    Ok(Keyring {
        path: None,
        keks,
        current,
        ledger_signing,
    })
}

fn decode_key(hex_key: &str) -> Option<SecretKey> {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    hex::decode_to_slice(hex_key, bytes.as_mut()).ok()?;
    Some(SecretKey::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_owner_only_and_reopens_with_same_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/steward.keys");
        let ring = Keyring::open_or_create(&path).unwrap();
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        let again = Keyring::open_or_create(&path).unwrap();
        assert_eq!(again.ledger_public_key(), ring.ledger_public_key());
        assert_eq!(again.kek_versions(), vec![1]);
        assert_eq!(
            again.kek(1).unwrap().expose(),
            ring.kek(1).unwrap().expose()
        );
    }

    #[cfg(unix)]
    #[test]
    fn group_or_world_readable_key_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steward.keys");
        Keyring::open_or_create(&path).unwrap();
        for bad in [0o644, 0o640, 0o604, 0o660, 0o606] {
            fs::set_permissions(&path, fs::Permissions::from_mode(bad)).unwrap();
            let err = Keyring::open_or_create(&path).unwrap_err();
            assert_eq!(err.code(), "vault.key_file_permissions", "mode {bad:o}");
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(Keyring::open(&path).is_ok());
    }

    #[test]
    fn rotation_and_drop_are_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steward.keys");
        let mut ring = Keyring::open_or_create(&path).unwrap();
        assert_eq!(ring.rotate().unwrap(), 2);
        assert_eq!(ring.rotate().unwrap(), 3);
        ring.drop_kek(1).unwrap();
        assert_eq!(ring.drop_kek(3).unwrap_err().code(), "vault.kek_in_use");
        assert_eq!(
            ring.drop_kek(9).unwrap_err().code(),
            "vault.unknown_kek_version"
        );
        let again = Keyring::open(&path).unwrap();
        assert_eq!(again.kek_versions(), vec![2, 3]);
        assert_eq!(again.current_kek_version(), 3);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn debug_prints_no_key_material() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steward.keys");
        let ring = Keyring::open_or_create(&path).unwrap();
        let shown = format!(
            "{ring:?} {:?} {:?}",
            ring.kek(1).unwrap(),
            ring.ledger_signing_key()
        );
        let file = fs::read_to_string(&path).unwrap();
        for line in file
            .lines()
            .filter(|l| l.starts_with("kek ") || l.starts_with("ledger-signing "))
        {
            let secret = line.rsplit(' ').next().unwrap();
            assert_eq!(secret.len(), 64);
            assert!(!shown.contains(secret), "secret leaked in {shown}");
            assert!(
                !shown.contains(&secret[..16]),
                "secret prefix leaked in {shown}"
            );
        }
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn malformed_key_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("", "empty key file"),
            ("hello\n", "header"),
            (
                "steward-keyring 1\ncurrent-kek 1\nkek 1 zz\nledger-signing 00\n",
                "64 hex",
            ),
            ("steward-keyring 1\ncurrent-kek 2\n", "not in the file"),
            ("steward-keyring 1\nfrobnicate\n", "unknown entry"),
        ];
        for (i, (text, needle)) in cases.iter().enumerate() {
            let path = dir.path().join(format!("k{i}"));
            let mut f = create_owner_only(&path).unwrap();
            f.write_all(text.as_bytes()).unwrap();
            drop(f);
            let err = Keyring::open(&path).unwrap_err();
            assert_eq!(err.code(), "vault.key_file_format");
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }
}
