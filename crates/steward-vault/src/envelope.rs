//! Envelope encryption: the sealed-blob and wrapped-key byte formats, the row binding that
//! becomes associated data, and AES-256-GCM with random nonces from the OS.

use std::sync::OnceLock;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use zeroize::Zeroizing;

use crate::VaultError;

/// Length of every key this crate handles (AES-256 and Ed25519 seeds alike).
pub const KEY_LEN: usize = 32;
/// AES-GCM nonce length: 96 bits, drawn from the OS random generator for every seal.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;

/// Format byte of a sealed content blob, version 1.
pub const SEALED_FORMAT_V1: u8 = 0x01;
/// Format byte of a wrapped member content key, version 1 (distinct from content blobs so one
/// can never be mistaken for the other).
pub const WRAPPED_FORMAT_V1: u8 = 0x81;

const SEALED_HEADER_LEN: usize = 1 + 4;
/// Bytes a sealed blob adds to its plaintext: header, nonce and tag.
pub const SEALED_OVERHEAD: usize = SEALED_HEADER_LEN + NONCE_LEN + TAG_LEN;
const WRAPPED_HEADER_LEN: usize = 1 + 4 + 4;
/// Length of a wrapped content key.
pub const WRAPPED_LEN: usize = WRAPPED_HEADER_LEN + NONCE_LEN + KEY_LEN + TAG_LEN;
/// Largest plaintext one blob may hold (far below AES-GCM's 64 GiB limit; attachments larger
/// than this are not private-message material).
pub const MAX_PLAINTEXT: usize = 1 << 30;

const SEALED_AD_DOMAIN: &[u8] = b"steward.sealed.v1\0";
const WRAPPED_AD_DOMAIN: &[u8] = b"steward.dek.v1\0";

/// What kind of private content a blob holds. Part of the associated data, so a message blob
/// cannot be passed off as a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ContentKind {
    /// A private message body.
    Message,
    /// A message attachment.
    Attachment,
    /// A member's private note.
    PrivateNote,
    /// A post in a closed group.
    ClosedGroupPost,
}

impl ContentKind {
    fn tag(self) -> u8 {
        match self {
            ContentKind::Message => 1,
            ContentKind::Attachment => 2,
            ContentKind::PrivateNote => 3,
            ContentKind::ClosedGroupPost => 4,
        }
    }

    /// The stable name of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentKind::Message => "message",
            ContentKind::Attachment => "attachment",
            ContentKind::PrivateNote => "private_note",
            ContentKind::ClosedGroupPost => "closed_group_post",
        }
    }
}

/// The row a ciphertext belongs to. It is authenticated with the ciphertext (as AES-GCM
/// associated data), so a blob copied onto another row — another message id, conversation or
/// author — fails to open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RowBinding {
    /// What the blob holds.
    pub kind: ContentKind,
    /// The id of the row (message, attachment, note or post).
    pub item_id: i64,
    /// The conversation (or group) the item belongs to; `None` for notes.
    pub conversation_id: Option<i64>,
    /// The member who wrote it; their content key seals it.
    pub author: i64,
}

impl RowBinding {
    /// A private message.
    pub fn message(message_id: i64, conversation_id: i64, author: i64) -> RowBinding {
        RowBinding {
            kind: ContentKind::Message,
            item_id: message_id,
            conversation_id: Some(conversation_id),
            author,
        }
    }

    /// A message attachment.
    pub fn attachment(attachment_id: i64, conversation_id: i64, author: i64) -> RowBinding {
        RowBinding {
            kind: ContentKind::Attachment,
            item_id: attachment_id,
            conversation_id: Some(conversation_id),
            author,
        }
    }

    /// A private note.
    pub fn private_note(note_id: i64, author: i64) -> RowBinding {
        RowBinding {
            kind: ContentKind::PrivateNote,
            item_id: note_id,
            conversation_id: None,
            author,
        }
    }

    /// Fixed-width, unambiguous encoding: kind, item, conversation presence + id, author.
    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.kind.tag());
        out.extend_from_slice(&self.item_id.to_be_bytes());
        match self.conversation_id {
            Some(id) => {
                out.push(1);
                out.extend_from_slice(&id.to_be_bytes());
            }
            None => {
                out.push(0);
                out.extend_from_slice(&0i64.to_be_bytes());
            }
        }
        out.extend_from_slice(&self.author.to_be_bytes());
    }
}

/// A 256-bit secret key that is wiped from memory when dropped and never printed. Its AES key
/// schedule is expanded on first use and kept (wiped on drop too, by `aes-gcm`'s `zeroize`
/// feature): a key-encryption key unwraps a content key per author per transaction, and the
/// expansion cost as much as the unwrap itself.
#[derive(Clone)]
pub(crate) struct SecretKey(Zeroizing<[u8; KEY_LEN]>, OnceLock<Aes256Gcm>);

impl SecretKey {
    pub(crate) fn random() -> Result<SecretKey, VaultError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(key.as_mut())?;
        Ok(SecretKey::from_bytes(key))
    }

    pub(crate) fn from_bytes(bytes: Zeroizing<[u8; KEY_LEN]>) -> SecretKey {
        SecretKey(bytes, OnceLock::new())
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn cipher(&self) -> Result<&Aes256Gcm, VaultError> {
        if let Some(cipher) = self.1.get() {
            return Ok(cipher);
        }
        let cipher = Aes256Gcm::new_from_slice(self.0.as_ref())
            .map_err(|_| VaultError::Malformed("key length"))?;
        Ok(self.1.get_or_init(|| cipher))
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), VaultError> {
    getrandom::fill(buf).map_err(|e| VaultError::Random(e.to_string()))
}

/// Decrypted content. Wiped from memory on drop; its `Debug` shows only the length, so it never
/// lands in a log by accident.
pub struct Plaintext(Zeroizing<Vec<u8>>);

impl Plaintext {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as UTF-8 text, if they are.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plaintext(<{} bytes redacted>)", self.0.len())
    }
}

/// Seals `plaintext` for `binding` under `dek` (generation `generation`) with `nonce`, which
/// must never have been used before (take it from a [`NoncePool`]).
pub(crate) fn seal_content(
    dek: &SecretKey,
    generation: u32,
    binding: &RowBinding,
    nonce: [u8; NONCE_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, VaultError> {
    seal_with(dek.cipher()?, generation, binding, nonce, plaintext)
}

/// Most nonces one OS random call fetches for a [`NoncePool`].
const NONCES_PER_DRAW: usize = 64;

/// Nonces from the OS random generator, fetched several at a time: a system call per seal cost
/// about as much as sealing a short message. The first draw fetches one nonce and each next
/// draw twice as many, up to `NONCES_PER_DRAW`, so a sealer that seals once (one
/// `send_message`) asks the OS for no more than before. Every nonce is still drawn from the OS
/// and used once; nonces are public (each blob carries its own), so holding the next few in
/// memory reveals nothing. A pool belongs to one sealer (one transaction or bulk job) or to
/// the [`crate::Vault`] itself, for its one-at-a-time seals.
pub(crate) struct NoncePool {
    drawn: [u8; NONCE_LEN * NONCES_PER_DRAW],
    /// Nonces the last draw fetched.
    available: usize,
    /// Of those, how many were handed out.
    used: usize,
}

impl NoncePool {
    /// An empty pool; the first nonce draws.
    pub(crate) fn new() -> NoncePool {
        NoncePool {
            drawn: [0; NONCE_LEN * NONCES_PER_DRAW],
            available: 0,
            used: 0,
        }
    }

    /// A nonce never handed out before.
    pub(crate) fn take(&mut self) -> Result<[u8; NONCE_LEN], VaultError> {
        if self.used == self.available {
            let count = (self.available * 2).clamp(1, NONCES_PER_DRAW);
            fill_random(&mut self.drawn[..count * NONCE_LEN])?;
            self.available = count;
            self.used = 0;
        }
        let at = self.used * NONCE_LEN;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&self.drawn[at..at + NONCE_LEN]);
        self.used += 1;
        Ok(nonce)
    }
}

impl std::fmt::Debug for NoncePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoncePool")
            .field("left", &(self.available - self.used))
            .finish()
    }
}

/// A content key with its AES key schedule expanded once, for sealing many rows of one author
/// (the bulk sealer). The expanded schedule is wiped on drop like the key (`zeroize` feature of
/// `aes-gcm`).
pub(crate) struct ContentCipher {
    cipher: Aes256Gcm,
    generation: u32,
}

impl ContentCipher {
    pub(crate) fn new(dek: &SecretKey, generation: u32) -> Result<ContentCipher, VaultError> {
        Ok(ContentCipher {
            cipher: dek.cipher()?.clone(),
            generation,
        })
    }

    pub(crate) fn seal(
        &self,
        binding: &RowBinding,
        nonce: [u8; NONCE_LEN],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        seal_with(&self.cipher, self.generation, binding, nonce, plaintext)
    }
}

fn seal_with(
    cipher: &Aes256Gcm,
    generation: u32,
    binding: &RowBinding,
    nonce: [u8; NONCE_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, VaultError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(VaultError::TooLarge {
            len: plaintext.len(),
            max: MAX_PLAINTEXT,
        });
    }
    let mut out = Vec::with_capacity(SEALED_OVERHEAD + plaintext.len());
    out.push(SEALED_FORMAT_V1);
    out.extend_from_slice(&generation.to_be_bytes());
    out.extend_from_slice(&nonce);
    let ad = sealed_ad(&out[..SEALED_HEADER_LEN], binding);
    let body_start = out.len();
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_inout_detached(&Nonce::from(nonce), &ad, (&mut out[body_start..]).into())
        .map_err(|_| VaultError::TooLarge {
            len: plaintext.len(),
            max: MAX_PLAINTEXT,
        })?;
    out.extend_from_slice(tag.as_slice());
    Ok(out)
}

/// The parsed header of a sealed blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedHeader {
    /// The format byte.
    pub format: u8,
    /// The generation of the author's content key it was sealed under.
    pub key_generation: u32,
}

/// Reads the header of a sealed blob without opening it.
pub fn sealed_header(blob: &[u8]) -> Result<SealedHeader, VaultError> {
    if blob.len() < SEALED_OVERHEAD {
        return Err(VaultError::Malformed("sealed blob shorter than its header"));
    }
    if blob[0] != SEALED_FORMAT_V1 {
        return Err(VaultError::Malformed("unknown sealed blob format"));
    }
    Ok(SealedHeader {
        format: blob[0],
        key_generation: be_u32(&blob[1..5]),
    })
}

pub(crate) fn open_content(
    dek: &SecretKey,
    binding: &RowBinding,
    blob: &[u8],
) -> Result<Plaintext, VaultError> {
    sealed_header(blob)?;
    let (header, rest) = blob.split_at(SEALED_HEADER_LEN);
    let (nonce, rest) = rest.split_at(NONCE_LEN);
    let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
    let ad = sealed_ad(header, binding);
    let mut buf = Zeroizing::new(body.to_vec());
    let nonce = nonce_from(nonce)?;
    let tag = Tag::<aes_gcm::aead::consts::U16>::try_from(tag)
        .map_err(|_| VaultError::Malformed("tag length"))?;
    dek.cipher()?
        .decrypt_inout_detached(&nonce, &ad, buf.as_mut_slice().into(), &tag)
        .map_err(|_| VaultError::AeadFailure)?;
    Ok(Plaintext(buf))
}

fn sealed_ad(header: &[u8], binding: &RowBinding) -> Vec<u8> {
    let mut ad = Vec::with_capacity(SEALED_AD_DOMAIN.len() + header.len() + 26);
    ad.extend_from_slice(SEALED_AD_DOMAIN);
    ad.extend_from_slice(header);
    binding.encode_into(&mut ad);
    ad
}

/// A member's content key wrapped (encrypted) under a key-encryption key: the only form in which
/// a content key is ever stored outside memory. It holds no usable secret without the keyring.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey(Vec<u8>);

impl WrappedKey {
    /// Parses stored bytes, checking the format and length.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<WrappedKey, VaultError> {
        if bytes.len() != WRAPPED_LEN {
            return Err(VaultError::Malformed("wrapped key has the wrong length"));
        }
        if bytes[0] != WRAPPED_FORMAT_V1 {
            return Err(VaultError::Malformed("unknown wrapped key format"));
        }
        Ok(WrappedKey(bytes))
    }

    /// The bytes to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The version of the key-encryption key that wraps it.
    pub fn kek_version(&self) -> u32 {
        be_u32(&self.0[1..5])
    }

    /// The generation of the content key inside.
    pub fn generation(&self) -> u32 {
        be_u32(&self.0[5..9])
    }
}

impl std::fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrappedKey")
            .field("kek_version", &self.kek_version())
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

pub(crate) fn wrap_key(
    kek: &SecretKey,
    kek_version: u32,
    member: i64,
    generation: u32,
    dek: &SecretKey,
) -> Result<WrappedKey, VaultError> {
    let mut out = Vec::with_capacity(WRAPPED_LEN);
    out.push(WRAPPED_FORMAT_V1);
    out.extend_from_slice(&kek_version.to_be_bytes());
    out.extend_from_slice(&generation.to_be_bytes());
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    out.extend_from_slice(&nonce);
    let ad = wrapped_ad(&out[..WRAPPED_HEADER_LEN], member);
    let body_start = out.len();
    out.extend_from_slice(dek.expose());
    let tag = kek
        .cipher()?
        .encrypt_inout_detached(&Nonce::from(nonce), &ad, (&mut out[body_start..]).into())
        .map_err(|_| VaultError::Malformed("key wrap failed"))?;
    out.extend_from_slice(tag.as_slice());
    Ok(WrappedKey(out))
}

pub(crate) fn unwrap_key(
    kek: &SecretKey,
    member: i64,
    wrapped: &WrappedKey,
) -> Result<SecretKey, VaultError> {
    let bytes = &wrapped.0;
    let (header, rest) = bytes.split_at(WRAPPED_HEADER_LEN);
    let (nonce, rest) = rest.split_at(NONCE_LEN);
    let (body, tag) = rest.split_at(KEY_LEN);
    let ad = wrapped_ad(header, member);
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    key.copy_from_slice(body);
    let nonce = nonce_from(nonce)?;
    let tag = Tag::<aes_gcm::aead::consts::U16>::try_from(tag)
        .map_err(|_| VaultError::Malformed("tag length"))?;
    kek.cipher()?
        .decrypt_inout_detached(&nonce, &ad, key.as_mut_slice().into(), &tag)
        .map_err(|_| VaultError::AeadFailure)?;
    Ok(SecretKey::from_bytes(key))
}

fn wrapped_ad(header: &[u8], member: i64) -> Vec<u8> {
    let mut ad = Vec::with_capacity(WRAPPED_AD_DOMAIN.len() + header.len() + 8);
    ad.extend_from_slice(WRAPPED_AD_DOMAIN);
    ad.extend_from_slice(header);
    ad.extend_from_slice(&member.to_be_bytes());
    ad
}

fn nonce_from(bytes: &[u8]) -> Result<Nonce<aes_gcm::aead::consts::U12>, VaultError> {
    let arr: [u8; NONCE_LEN] = bytes
        .try_into()
        .map_err(|_| VaultError::Malformed("nonce length"))?;
    Ok(Nonce::from(arr))
}

fn be_u32(bytes: &[u8]) -> u32 {
    let mut arr = [0u8; 4];
    arr.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(arr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_pool_never_repeats_across_draws() {
        let mut pool = NoncePool::new();
        let mut seen = std::collections::HashSet::new();
        // Through the growing draws (1, 2, 4, ... 64) and three full ones.
        for _ in 0..4 * NONCES_PER_DRAW + 1 {
            assert!(seen.insert(pool.take().unwrap()));
        }
    }
}
