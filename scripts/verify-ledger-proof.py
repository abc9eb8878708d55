#!/usr/bin/env python3
"""Check a Steward ledger proof file offline, without Steward's code.

usage: verify-ledger-proof.py PROOF_FILE [VERIFIER_KEY]

The formats are specified in docs/ledger-format.md. Prints the entry and exits 0 when the entry
is in the log that the checkpoint describes and, if a verifier key (`name+keyid+base64key`) is
given, the checkpoint is signed by that key (this needs the `cryptography` package); exits 1
otherwise. Standard library only, apart from the signature check.
"""
import base64
import hashlib
import struct
import sys


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def decode_entry(b):
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(b):
            raise ValueError("truncated entry")
        pos += n
        return b[pos - n:pos]

    u32 = lambda: struct.unpack(">I", take(4))[0]
    u64 = lambda: struct.unpack(">Q", take(8))[0]
    text = lambda: take(u32()).decode("utf-8")
    if take(1) != b"\x01":
        raise ValueError("unknown entry format version")
    e = {"seq": u64(), "time_ms": u64(), "actor": text(), "role": text(),
         "purpose": text(), "action": text()}
    kind = take(1)[0]
    if kind == 0:
        e["members"] = [u64() for _ in range(u32())]
    elif kind == 1:
        e["member_set"] = {"digest": take(32).hex(), "count": u64(), "set_id": text()}
    else:
        raise ValueError("unknown subjects kind")
    e["categories"] = [text() for _ in range(u32())]
    for field in ("justification", "policy_version", "reference", "outcome", "details"):
        e[field] = text()
    if pos != len(b):
        raise ValueError("trailing bytes after the entry")
    return e


def root_from_inclusion(index, size, leaf, path):
    """RFC 9162, section 2.1.3.2."""
    if index >= size:
        raise ValueError("leaf index beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("inclusion proof too short")
    return r


def check_signature(body, signatures, vkey):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    name, key_id, key_b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(key_b64)
    if raw[0] != 1 or len(raw) != 33:
        raise ValueError("not an Ed25519 verifier key")
    if hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() != key_id:
        raise ValueError("verifier key id does not match")
    for line in signatures.splitlines():
        signer, sig_b64 = line.removeprefix("\u2014 ").split(" ")
        sig = base64.b64decode(sig_b64)
        if signer == name and sig[:4].hex() == key_id:
            Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig[4:], body.encode())
            return
    raise ValueError(f"no signature by {name}")


def main(argv):
    text = open(argv[1], encoding="utf-8").read()
    head, note = text.split("\ncheckpoint\n", 1)
    lines = head.split("\n")
    if lines[0] != "steward-ledger-proof 1":
        raise ValueError("not a steward ledger proof file")
    seq = int(lines[1].removeprefix("seq "))
    size = int(lines[2].removeprefix("size "))
    entry_bytes = base64.b64decode(lines[3].removeprefix("entry "))
    path = [base64.b64decode(l.removeprefix("path ")) for l in lines[4:]]

    split = note.rindex("\n\n")
    body, signatures = note[:split + 1], note[split + 2:]
    origin, cp_size, cp_root = body.split("\n")[:3]
    if int(cp_size) != size:
        raise ValueError(f"proof is for size {size}, checkpoint signs {cp_size}")
    entry = decode_entry(entry_bytes)
    if entry["seq"] != seq:
        raise ValueError(f"entry carries seq {entry['seq']}, not {seq}")
    root = root_from_inclusion(seq, size, leaf_hash(entry_bytes), path)
    if root != base64.b64decode(cp_root):
        raise ValueError("inclusion proof does not lead to the checkpoint's root")
    signed = "not checked (no verifier key given)"
    if len(argv) > 2:
        check_signature(body, signatures, argv[2])
        signed = "signature verified"
    print(f"ok: entry {seq} is in {origin} of {size} entries, root {root.hex()}; {signed}")
    print(entry)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # noqa: BLE001 - any failure means "does not verify"
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
