//! Signed checkpoints in the C2SP `tlog-checkpoint` format, carried in a C2SP `signed-note`
//! with an Ed25519 signature, so tools written for transparency logs can read them.
//!
//! ```text
//! steward.example/ledger          origin (the log's identity)
//! 1000                            tree size, decimal
//! 8PnSmAd8...Q=                   root hash, standard base64
//! time 1764400000000              extension line: signing time, ms since the epoch
//!                                 (blank line)
//! — steward.example/ledger AbCd...  signature line: key name, base64(key id || signature)
//! ```
//!
//! The signing key is handed in by the caller (the vault crate owns the keyring); this crate
//! never reads key files, so crates that must not reach the vault can still verify.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::LedgerError;
use crate::hash::Hash;

/// The signature type byte of Ed25519 in C2SP signed notes.
const ED25519_TYPE: u8 = 0x01;
/// The em dash that starts every signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// What a checkpoint commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `steward.example/ledger`.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// When it was signed, ms since the Unix epoch.
    pub time_ms: u64,
}

/// A checkpoint with its signed-note text, exactly as signed and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: String,
}

fn malformed(detail: impl Into<String>) -> LedgerError {
    LedgerError::CheckpointMalformed {
        detail: detail.into(),
    }
}

impl Checkpoint {
    /// The note text that is signed: four lines, each ending in a newline.
    pub fn body(&self) -> Result<String, LedgerError> {
        if self.origin.is_empty() || self.origin.chars().any(char::is_control) {
            return Err(malformed(
                "origin must be non-empty with no control characters",
            ));
        }
        Ok(format!(
            "{}\n{}\n{}\ntime {}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root.0),
            self.time_ms
        ))
    }

    /// Parses a note text (without signatures).
    pub fn parse_body(text: &str) -> Result<Checkpoint, LedgerError> {
        let Some(text) = text.strip_suffix('\n') else {
            return Err(malformed("checkpoint text must end with a newline"));
        };
        let lines: Vec<&str> = text.split('\n').collect();
        let [origin, size, root, rest @ ..] = lines.as_slice() else {
            return Err(malformed("a checkpoint has at least three lines"));
        };
        if origin.is_empty() {
            return Err(malformed("empty origin"));
        }
        // Decimal without sign or leading zeros: one text per size.
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(malformed(format!("bad tree size `{size}`")));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| malformed(format!("bad tree size `{size}`")))?;
        let root_bytes = BASE64
            .decode(root)
            .map_err(|_| malformed(format!("root `{root}` is not base64")))?;
        let root = Hash::from_slice(&root_bytes).map_err(|_| malformed("root is not 32 bytes"))?;
        let mut time_ms = None;
        for line in rest {
            if let Some(t) = line.strip_prefix("time ") {
                let t: u64 = t
                    .parse()
                    .map_err(|_| malformed(format!("bad time `{t}`")))?;
                if time_ms.replace(t).is_some() {
                    return Err(malformed("two time lines"));
                }
            } else if line.is_empty() {
                return Err(malformed("empty line inside the checkpoint"));
            }
            // Other extension lines are allowed by the format and ignored.
        }
        let time_ms = time_ms.ok_or_else(|| malformed("missing `time` line"))?;
        Ok(Checkpoint {
            origin: (*origin).to_owned(),
            size,
            root,
            time_ms,
        })
    }
}

/// Computes the C2SP key id: the first four bytes of SHA-256(name || "\n" || 0x01 || key).
fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ED25519_TYPE]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

fn check_key_name(name: &str) -> Result<(), LedgerError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(LedgerError::KeyMalformed {
            detail: format!("key name `{name}` must be non-empty without spaces or `+`"),
        });
    }
    Ok(())
}

/// Signs checkpoints. Built from key bytes the caller obtained (from the vault's keyring).
pub struct CheckpointSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret key.
        f.debug_struct("CheckpointSigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CheckpointSigner {
    /// `name` is the key name in signature lines; by convention the log's origin.
    pub fn new(name: impl Into<String>, key: SigningKey) -> Result<CheckpointSigner, LedgerError> {
        let name = name.into();
        check_key_name(&name)?;
        Ok(CheckpointSigner { name, key })
    }

    /// From a 32-byte Ed25519 seed.
    pub fn from_seed(
        name: impl Into<String>,
        seed: &[u8],
    ) -> Result<CheckpointSigner, LedgerError> {
        let seed: [u8; 32] = seed.try_into().map_err(|_| LedgerError::KeyMalformed {
            detail: format!("an Ed25519 seed is 32 bytes, got {}", seed.len()),
        })?;
        CheckpointSigner::new(name, SigningKey::from_bytes(&seed))
    }

    /// From 64 hex digits (a 32-byte Ed25519 seed), surrounding whitespace ignored: the form
    /// key files take until the vault's keyring hands keys over.
    pub fn from_hex_seed(
        name: impl Into<String>,
        text: &str,
    ) -> Result<CheckpointSigner, LedgerError> {
        let seed = hex::decode(text.trim()).map_err(|_| LedgerError::KeyMalformed {
            detail: "a signing key file holds 64 hex digits".into(),
        })?;
        CheckpointSigner::from_seed(name, &seed)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier, to publish.
    pub fn verifier(&self) -> CheckpointVerifier {
        let key = self.key.verifying_key();
        CheckpointVerifier {
            name: self.name.clone(),
            id: key_id(&self.name, &key),
            key,
        }
    }

    /// Signs `checkpoint` into a signed note.
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<SignedCheckpoint, LedgerError> {
        let body = checkpoint.body()?;
        let signature = self.key.sign(body.as_bytes());
        let mut blob = Vec::with_capacity(4 + 64);
        blob.extend_from_slice(&key_id(&self.name, &self.key.verifying_key()));
        blob.extend_from_slice(&signature.to_bytes());
        let note = format!(
            "{body}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(blob)
        );
        Ok(SignedCheckpoint {
            checkpoint: checkpoint.clone(),
            note,
        })
    }
}

/// Verifies checkpoints offline with a public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl CheckpointVerifier {
    /// Parses a C2SP verifier key: `<name>+<8 hex digits key id>+<base64(0x01 || key)>`.
    pub fn parse(text: &str) -> Result<CheckpointVerifier, LedgerError> {
        let bad = |detail: &str| LedgerError::KeyMalformed {
            detail: detail.to_owned(),
        };
        let text = text.trim();
        // Only the first two `+` separate fields: standard base64 may contain `+` itself.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("a verifier key reads `name+keyid+base64key`"));
        };
        check_key_name(name)?;
        let id: [u8; 4] = hex::decode(id_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("the key id is 8 hex digits"))?;
        let raw = BASE64
            .decode(key_b64)
            .map_err(|_| bad("the key is not base64"))?;
        let Some((&ED25519_TYPE, key_bytes)) = raw.split_first() else {
            return Err(bad("only Ed25519 keys (type 0x01) are supported"));
        };
        let key_bytes: [u8; 32] = key_bytes
            .try_into()
            .map_err(|_| bad("an Ed25519 key is 32 bytes"))?;
        let key =
            VerifyingKey::from_bytes(&key_bytes).map_err(|_| bad("not a valid Ed25519 point"))?;
        if key_id(name, &key) != id {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(CheckpointVerifier {
            name: name.to_owned(),
            id,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Verifies a signed note and parses the checkpoint in it. Succeeds only if a signature
    /// line with this key's name and id verifies; other signature lines (witnesses,
    /// cosigners) are ignored.
    pub fn verify(&self, note: &str) -> Result<Checkpoint, LedgerError> {
        let Some(split) = note.rfind("\n\n") else {
            return Err(malformed("no blank line between text and signatures"));
        };
        let body = &note[..split + 1];
        let signatures = &note[split + 2..];
        if !signatures.ends_with('\n') {
            return Err(malformed("signature lines must end with a newline"));
        }
        let mut seen_ours = false;
        for line in signatures.lines() {
            let Some(rest) = line.strip_prefix(SIGNATURE_PREFIX) else {
                return Err(malformed(format!("bad signature line `{line}`")));
            };
            let Some((name, blob)) = rest.split_once(' ') else {
                return Err(malformed(format!("bad signature line `{line}`")));
            };
            if name != self.name {
                continue;
            }
            let blob = BASE64
                .decode(blob)
                .map_err(|_| malformed("signature is not base64"))?;
            if blob.len() < 4 || blob[..4] != self.id {
                continue;
            }
            seen_ours = true;
            let signature =
                Signature::from_slice(&blob[4..]).map_err(|_| LedgerError::SignatureInvalid {
                    detail: "signature is not 64 bytes".into(),
                })?;
            if self.key.verify_strict(body.as_bytes(), &signature).is_ok() {
                return Checkpoint::parse_body(body);
            }
        }
        Err(LedgerError::SignatureInvalid {
            detail: if seen_ours {
                format!("the signature by `{}` does not match the text", self.name)
            } else {
                format!("no signature by `{}`", self.name)
            },
        })
    }
}

impl std::fmt::Display for CheckpointVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(ED25519_TYPE);
        raw.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex::encode(self.id),
            BASE64.encode(raw)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    fn signer(seed: u8) -> CheckpointSigner {
        CheckpointSigner::from_seed("steward.example/ledger", &[seed; 32]).unwrap()
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "steward.example/ledger".into(),
            size: 1000,
            root: leaf_hash(b"root"),
            time_ms: 1_764_400_000_000,
        }
    }

    #[test]
    fn signs_and_verifies_round_trip_through_text() {
        let s = signer(1);
        let signed = s.sign(&checkpoint()).unwrap();
        let verifier = CheckpointVerifier::parse(&s.verifier().to_string()).unwrap();
        assert_eq!(verifier.verify(&signed.note).unwrap(), checkpoint());
        assert!(signed.note.starts_with("steward.example/ledger\n1000\n"));
    }

    #[test]
    fn any_changed_byte_in_the_text_fails() {
        let s = signer(1);
        let note = s.sign(&checkpoint()).unwrap().note;
        let verifier = s.verifier();
        let body_len = note.find("\n\n").unwrap();
        for i in 0..body_len {
            let mut bytes = note.clone().into_bytes();
            bytes[i] ^= 0x01;
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            assert!(
                verifier.verify(&text).is_err(),
                "byte {i} changed and still verified"
            );
        }
    }

    #[test]
    fn forged_and_foreign_signatures_fail() {
        let note = signer(1).sign(&checkpoint()).unwrap().note;
        let other = signer(2).verifier();
        assert_eq!(
            other.verify(&note).unwrap_err().code(),
            "ledger.signature_invalid"
        );
        // The right key id, a wrong signature.
        let forged = signer(2).sign(&checkpoint()).unwrap().note;
        let (body, sig_line) = forged.split_at(forged.rfind("\n\n").unwrap() + 2);
        let real = note.split_at(note.rfind("\n\n").unwrap() + 2).1;
        let real_blob = BASE64
            .decode(real.trim_end().rsplit(' ').next().unwrap())
            .unwrap();
        let forged_blob = BASE64
            .decode(sig_line.trim_end().rsplit(' ').next().unwrap())
            .unwrap();
        let mut mixed = real_blob[..4].to_vec();
        mixed.extend_from_slice(&forged_blob[4..]);
        let text = format!(
            "{body}\u{2014} steward.example/ledger {}\n",
            BASE64.encode(mixed)
        );
        assert_eq!(
            signer(1).verifier().verify(&text).unwrap_err().code(),
            "ledger.signature_invalid"
        );
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let v = signer(1).verifier();
        for text in ["", "x\n\n", "a\n1\n\n— x y\n", "no blank line"] {
            assert!(v.verify(text).is_err(), "{text:?}");
        }
        for body in [
            "o\n01\nAAAA\ntime 1\n",
            "o\n1\nnot-base64\ntime 1\n",
            "o\n1\n",
            "o\n-1\nAA==\ntime 1\n",
        ] {
            assert_eq!(
                Checkpoint::parse_body(body).unwrap_err().code(),
                "ledger.checkpoint_malformed",
                "{body:?}"
            );
        }
        assert_eq!(
            CheckpointVerifier::parse("a+b").unwrap_err().code(),
            "ledger.key_malformed"
        );
        let good = v.to_string();
        let tampered = good.replacen("steward.example/ledger", "other", 1);
        assert_eq!(
            CheckpointVerifier::parse(&tampered).unwrap_err().code(),
            "ledger.key_malformed"
        );
        assert!(CheckpointSigner::from_seed("has space", &[1; 32]).is_err());
        assert!(CheckpointSigner::from_seed("ok", &[1; 31]).is_err());
    }
}
