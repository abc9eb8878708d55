// Ledger proofs checked in the browser, trusting nothing the server computed: SHA-256 through
// WebCrypto over the RFC 6962 / 9162 leaf and node hashes, the canonical entry bytes decoded
// here (docs/ledger-format.md), and the checkpoint's Ed25519 signature through WebCrypto when
// the browser has it. Exposed as `window.StewardVerify`.
"use strict";

(() => {
  const utf8 = new TextEncoder();
  const utf8Strict = new TextDecoder("utf-8", { fatal: true });

  function hexToBytes(hex) {
    if (typeof hex !== "string" || hex.length % 2 !== 0 || /[^0-9a-f]/i.test(hex)) throw new Error("not hex");
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
    return out;
  }
  const b64ToBytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const u64be = (v) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, v); return b; };
  const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

  async function sha256(...parts) {
    const buf = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { buf.set(p, o); o += p.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  }
  const leafHash = (data) => sha256(Uint8Array.of(0), data);
  const nodeHash = (l, r) => sha256(Uint8Array.of(1), l, r);

  // RFC 9162, section 2.1.3.2: the root an inclusion proof leads to.
  async function rootFromInclusion(index, size, leaf, path) {
    let fn = BigInt(index), sn = BigInt(size) - 1n, r = leaf;
    if (fn > sn) throw new Error("leaf index beyond the tree");
    for (const p of path) {
      if (sn === 0n) throw new Error("inclusion proof too long");
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) throw new Error("inclusion proof too short");
    return r;
  }

  // The canonical entry encoding (version 1), as docs/ledger-format.md specifies it.
  function decodeEntry(b) {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let pos = 0;
    const need = (n) => { if (pos + n > b.length) throw new Error("truncated entry"); };
    const u8 = () => { need(1); return b[pos++]; };
    const u32 = () => { need(4); const v = view.getUint32(pos); pos += 4; return v; };
    const u64 = () => { need(8); const v = view.getBigUint64(pos); pos += 8; return v; };
    const bytes = (n) => { need(n); const v = b.slice(pos, pos + n); pos += n; return v; };
    const text = () => utf8Strict.decode(bytes(u32()));
    if (u8() !== 1) throw new Error("unknown entry format version");
    const e = { seq: u64(), time_ms: u64(), actor: text(), role: text(), purpose: text(), action: text() };
    const kind = u8();
    if (kind === 0) {
      const n = u32();
      e.members = [];
      for (let i = 0; i < n; i++) e.members.push(u64());
    } else if (kind === 1) {
      e.member_set = { digest: bytes(32), count: u64(), set_id: text() };
    } else {
      throw new Error("unknown subjects kind");
    }
    const n = u32();
    e.categories = [];
    for (let i = 0; i < n; i++) e.categories.push(text());
    for (const f of ["justification", "policy_version", "reference", "outcome", "details"]) e[f] = text();
    if (pos !== b.length) throw new Error("trailing bytes after the entry");
    return e;
  }

  // A C2SP signed note checked against a verifier key `name+keyid+base64(0x01 || key)`.
  // `signature` is "verified", or "unsupported" when this browser has no Ed25519 in WebCrypto.
  async function verifyCheckpoint(note, verifierKey) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("checkpoint: no blank line before the signatures");
    const body = note.slice(0, split + 1);
    const lines = body.split("\n");
    const [origin, sizeText, rootB64] = lines;
    if (!/^(0|[1-9][0-9]*)$/.test(sizeText || "")) throw new Error("checkpoint: bad tree size");
    const root = b64ToBytes(rootB64);
    if (root.length !== 32) throw new Error("checkpoint: root is not 32 bytes");
    const first = verifierKey.indexOf("+"), second = verifierKey.indexOf("+", first + 1);
    if (first < 0 || second < 0) throw new Error("verifier key: expected name+keyid+key");
    const name = verifierKey.slice(0, first), keyId = verifierKey.slice(first + 1, second);
    const raw = b64ToBytes(verifierKey.slice(second + 1));
    if (raw.length !== 33 || raw[0] !== 1) throw new Error("verifier key: not an Ed25519 key");
    const id = (await sha256(utf8.encode(name + "\n"), raw)).slice(0, 4);
    if (toHex(id) !== keyId.toLowerCase()) throw new Error("verifier key: key id does not match");
    let sig = null;
    for (const line of note.slice(split + 2).split("\n").filter((l) => l)) {
      const m = line.match(/^\u2014 (\S+) (\S+)$/);
      if (!m) throw new Error("checkpoint: bad signature line");
      const blob = b64ToBytes(m[2]);
      if (m[1] === name && equal(blob.slice(0, 4), id)) sig = blob.slice(4);
    }
    if (!sig) throw new Error(`checkpoint: no signature by ${name}`);
    let key;
    try {
      key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
    } catch {
      return { origin, size: BigInt(sizeText), root, signature: "unsupported", keyName: name };
    }
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, sig, utf8.encode(body));
    if (!ok) throw new Error("checkpoint: the Ed25519 signature does not verify");
    return { origin, size: BigInt(sizeText), root, signature: "verified", keyName: name };
  }

  // Checks an access history as `/api/v1/members/{id}/access-history` returns it. Returns
  // { ok, checkpoint, results: [{ seq, status: "ok"|"pending"|"failed", detail }] }.
  async function verifyHistory(history) {
    const out = { ok: true, checkpoint: null, results: [], error: null };
    let cp = null;
    if (history.checkpoint) {
      try {
        cp = await verifyCheckpoint(history.checkpoint.note, history.verifier_key);
        out.checkpoint = cp;
      } catch (e) {
        out.ok = false;
        out.error = String(e.message || e);
        return out;
      }
    }
    const member = BigInt(history.member);
    for (const item of history.entries) {
      const shown = item.entry;
      const r = { seq: shown.seq, status: "ok", detail: "" };
      try {
        const bytes = hexToBytes(item.entry_bytes);
        const e = decodeEntry(bytes);
        // What the page shows must be what the proof is about.
        for (const f of ["actor", "role", "purpose", "action", "details", "justification"]) {
          if (e[f] !== shown[f]) throw new Error(`the ${f} shown differs from the proven entry`);
        }
        if (e.seq !== BigInt(shown.seq) || e.time_ms !== BigInt(shown.time_ms)) throw new Error("the sequence number or time shown differs from the proven entry");
        const leaf = await leafHash(bytes);
        if (e.member_set) {
          const m = item.membership;
          if (!m || BigInt(m.member) !== member) throw new Error("no proof that you are in this release's member set");
          const memberLeaf = await leafHash(u64be(BigInt(m.member)));
          const digest = await rootFromInclusion(m.index, e.member_set.count, memberLeaf, m.path.map(hexToBytes));
          if (!equal(digest, e.member_set.digest)) throw new Error("the member-set proof does not lead to the release's digest");
        } else if (!e.members.includes(member)) {
          throw new Error("the proven entry does not name you");
        }
        if (!item.inclusion_proof) {
          r.status = "pending";
          r.detail = "newer than the latest signed checkpoint";
        } else {
          if (!cp) throw new Error("a proof without a checkpoint");
          const root = await rootFromInclusion(e.seq, cp.size, leaf, item.inclusion_proof.map(hexToBytes));
          if (!equal(root, cp.root)) throw new Error("the inclusion proof does not lead to the signed root");
          r.detail = `in the log of ${cp.size} entries`;
        }
      } catch (err) {
        r.status = "failed";
        r.detail = String(err.message || err);
        out.ok = false;
      }
      out.results.push(r);
    }
    return out;
  }

  window.StewardVerify = { verifyHistory, verifyCheckpoint, rootFromInclusion, decodeEntry, leafHash, hexToBytes, toHex };
})();
