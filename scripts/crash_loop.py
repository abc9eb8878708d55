#!/usr/bin/env python3
"""Crash loop: kill `steward` with SIGKILL at random points of a write, restart, check.

Driven by scripts/crash-loop.sh. Each iteration picks one operation — an import (new members
plus a conversation of sealed messages), a message send, a dataset build, a DP campaign report
or a grant approval — starts the real binary, kills it with SIGKILL after a random delay drawn
from 0 to 1.2x that operation's measured duration (so kills land in start-up, in the
transaction, around the commit and after the output), and then checks the database with fresh
processes:

- every acknowledged write (the command printed its success JSON before the kill) is present:
  imported rows and their sealed messages, sent messages (read back by the recipient, text
  equal), registered datasets (listed and verified), report charges (the same report again is
  free and answers the same rows), approvals (the grant is active);
- an import is all-or-nothing per file, acknowledged or not;
- `steward ledger verify` passes;
- no half-written dataset is visible: every folder in the output directory that is not a hidden
  staging folder is a registered dataset that verifies, and every registered dataset verifies;
- no sealed row is unreadable: every conversation the loop wrote to reads back whole.

It prints the iterations per operation, how many were killed before, during or after their
acknowledgement, and every failure with the iteration that found it. Exit 1 on any failure.
"""

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

OPS = ["import", "send", "build", "report", "approve"]
PHISHING = "URGENT: verify your account at http://paypa1-account-verify.com/login"
DIMENSIONS = ["industry", "seniority", "function", "region", "company_size"]


class Failure(Exception):
    pass


class Steward:
    def __init__(self, binary, db, work, key_file):
        self.binary = binary
        self.db = db
        self.work = work
        self.key_file = key_file
        self.env = dict(os.environ)
        for k in ("STEWARD_TAXONOMY", "STEWARD_DB", "RUST_LOG"):
            self.env.pop(k, None)
        self.env["STEWARD_KEY_FILE"] = key_file

    def argv(self, args):
        return [self.binary, "--db", self.db, "--json"] + list(args)

    def run(self, args, timeout=600):
        p = subprocess.run(
            self.argv(args),
            cwd=self.work,
            env=self.env,
            capture_output=True,
            timeout=timeout,
        )
        return p.returncode, p.stdout, p.stderr

    def ok(self, args):
        code, out, err = self.run(args)
        if code != 0:
            raise Failure(
                f"`steward {' '.join(args)}` exit {code}: {err.decode(errors='replace')[-400:]}"
            )
        try:
            return json.loads(out) if out.strip() else None
        except json.JSONDecodeError as e:
            raise Failure(f"`steward {' '.join(args)}` printed no JSON ({e}): {out[-200:]!r}")

    def spawn(self, args, stdout, stderr):
        return subprocess.Popen(
            self.argv(args), cwd=self.work, env=self.env, stdout=stdout, stderr=stderr
        )


class Db:
    """Read-only checks straight in the database (taken while no steward runs)."""

    def __init__(self, url):
        self.url = url

    def scalar(self, sql):
        if self.url.startswith("sqlite://"):
            con = sqlite3.connect(f"file:{self.url[len('sqlite://'):]}?mode=ro", uri=True)
            try:
                return con.execute(sql).fetchone()[0]
            finally:
                con.close()
        p = subprocess.run(
            ["psql", self.url, "-tAc", sql], capture_output=True, text=True, timeout=120
        )
        if p.returncode != 0:
            raise Failure(f"psql: {p.stderr.strip()}")
        return int(p.stdout.strip() or 0)


class Loop:
    def __init__(self, args, backend, db_url):
        self.args = args
        self.backend = backend
        self.rng = random.Random(args.seed)
        self.work = tempfile.mkdtemp(prefix=f"steward-crash-{backend}-")
        self.key_file = os.path.join(self.work, "steward.keys")
        self.st = Steward(args.binary, db_url, self.work, self.key_file)
        self.db = Db(db_url)
        self.out = os.path.join(self.work, "datasets-out")
        self.spec = os.path.join(self.work, "profiles.toml")
        self.failures = []
        # killed_committed: killed before acknowledging, yet the write had committed — the
        # kill landed between the commit and the output.
        self.stats = {op: {"runs": 0, "acked": 0, "killed": 0, "killed_committed": 0}
                      for op in OPS}
        self.durations = {}
        self.next_import_id = 50_000_000
        self.conversations = {}  # conversation id -> a participant who reads it back
        self.send_convs = []  # (conversation, author, recipient) the send operation uses
        self.conv_of = {}  # acknowledged message id -> its conversation
        self.acked_messages = {}  # message id -> text
        self.acked_datasets = set()
        self.acked_reports = []  # (report args, rows json)
        self.acked_grants = set()
        self.reported = set()  # problems already reported (counted once)
        self.charged_epsilon = 0.0
        self.report_keys = [(d, by) for d in range(1, 60) for by in DIMENSIONS]
        self.rng.shuffle(self.report_keys)

    # ---- setup ---------------------------------------------------------------------------
    def setup(self):
        st = self.st
        st.ok(["seed", "--members", str(self.args.members), "--seed", "7",
               "--key-file", self.key_file,
               "--canaries", os.path.join(self.work, "canaries.jsonl")])
        for name, role in (("rita", "reviewer"), ("alex", "approver"), ("bea", "approver")):
            st.ok(["staff", "add", name, "--role", role])
        # Conversations the send operation writes to, one per pair of members.
        for a, b in ((1, 2), (3, 4), (5, 6)):
            sent = st.ok(["messages", "send", "--as-member", str(a), "--to", str(b),
                          f"crash-loop opening {a}->{b}"])
            self.conversations[sent["conversation_id"]] = b
            self.send_convs.append((sent["conversation_id"], a, b))
            self.acked_messages[sent["message_id"]] = f"crash-loop opening {a}->{b}"
            self.conv_of[sent["message_id"]] = sent["conversation_id"]
        aud = st.ok(["ads", "audience", "create", "--advertiser", "acme", "--name", "broad",
                     "not seniority in (cxo, owner)"])
        camp = st.ok(["ads", "campaign", "create", "--advertiser", "acme", "--name", "crash",
                      "--audience", str(aud["id"]), "--budget", "100"])
        self.campaign = str(camp["id"])
        st.ok(["ads", "campaign", "launch", "--advertiser", "acme", self.campaign])
        st.ok(["ads", "events", "simulate", "--campaign", self.campaign, "--seed", "9",
               "--impressions", "3000"])
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        shutil.copy(os.path.join(repo, "datasets", "profiles.toml"), self.spec)
        # Measure each operation once, uninterrupted: the kill delays are drawn from these.
        for op in OPS:
            prepared = self.prepare(op, calibrate=True)
            t0 = time.monotonic()
            code, out, err = st.run(prepared["args"])
            self.durations[op] = time.monotonic() - t0
            if code != 0:
                raise Failure(f"calibration of {op} failed: {err.decode(errors='replace')[-400:]}")
            self.acknowledge(op, prepared, json.loads(out))

    # ---- operations ----------------------------------------------------------------------
    def prepare(self, op, calibrate=False):
        st = self.st
        if op == "import":
            return self.prepare_import()
        if op == "send":
            conv, author, recipient = self.rng.choice(self.send_convs)
            text = f"crash-loop send {self.rng.getrandbits(48):012x}"
            return {"args": ["messages", "send", "--as-member", str(author), "--conversation",
                             str(conv), text], "text": text, "conversation": conv,
                    "reader": recipient}
        if op == "build":
            return {"args": ["datasets", "build", self.spec, "--out", self.out]}
        if op == "report":
            days, by = self.report_keys.pop()
            args = ["ads", "report", self.campaign, "--advertiser", "acme", "--days", str(days),
                    "--by", by, "--epsilon", "0.01"]
            return {"args": args}
        if op == "approve":
            # A fresh reported message, case and pending grant (not killed), then the approval.
            sent = st.ok(["messages", "send", "--as-member", "7", "--to", "8", PHISHING])
            self.conversations[sent["conversation_id"]] = 8
            self.acked_messages[sent["message_id"]] = PHISHING
            self.conv_of[sent["message_id"]] = sent["conversation_id"]
            rep = st.ok(["messages", "report", "--as-member", "8", "--message",
                         str(sent["message_id"]), "--reason", "phishing"])
            grant = st.ok(["cases", "request-grant", str(rep["case_id"]), "--as", "rita",
                           "--justification", "reported phishing"])
            return {"args": ["cases", "approve", str(grant["grant_id"]), "--as", "alex"],
                    "grant": grant["grant_id"], "case": rep["case_id"]}
        raise ValueError(op)

    def prepare_import(self):
        base = self.next_import_id
        self.next_import_id += 1000
        d = os.path.join(self.work, f"import-{base}")
        os.makedirs(d)
        n_members, n_messages = 40, 200
        members = list(range(base, base + n_members))
        now = int(time.time() * 1000)
        with open(os.path.join(d, "members.jsonl"), "w") as f:
            for m in members:
                f.write(json.dumps({
                    "member_id": m, "first_name": "Crash", "last_name": f"Loop{m}",
                    "email": f"crash{m}@example.invalid", "phone": None, "headline": None,
                    "summary": None, "city": None, "region": None, "country": "DE",
                    "industry": None, "job_function": None, "seniority": None,
                    "company_size": None, "years_experience": None, "jurisdiction": "DE",
                    "gender": None, "birth_year": None, "created_at": now, "deleted_at": None,
                }) + "\n")
        conv = base
        with open(os.path.join(d, "conversations.jsonl"), "w") as f:
            f.write(json.dumps({"conversation_id": conv, "member_id": members[0],
                                "created_at": now}) + "\n")
        with open(os.path.join(d, "conversation_participants.jsonl"), "w") as f:
            for m in members[:2]:
                f.write(json.dumps({"conversation_id": conv, "member_id": m,
                                    "joined_at": now}) + "\n")
        texts = {}
        with open(os.path.join(d, "messages.jsonl"), "w") as f:
            for i in range(n_messages):
                mid = base + i
                text = f"crash-loop import {base} message {i}"
                texts[mid] = text
                f.write(json.dumps({
                    "message_id": mid, "conversation_id": conv, "member_id": members[i % 2],
                    "sent_at": now + i, "content": text, "verdict": None,
                    "verdict_rule": None}) + "\n")
        return {"args": ["import", d, "--key-file", self.key_file], "base": base,
                "members": members, "conversation": conv, "texts": texts,
                "reader": members[1]}

    def acknowledge(self, op, p, out):
        """Remembers what an acknowledged run promised."""
        if op == "import":
            self.conversations[p["conversation"]] = p["reader"]
            self.acked_messages.update(p["texts"])
            self.track(p)
            p["acked"] = True
        elif op == "send":
            self.acked_messages[out["message_id"]] = p["text"]
            self.conv_of[out["message_id"]] = p["conversation"]
        elif op == "build":
            self.acked_datasets.add(out["id"])
        elif op == "report":
            if out.get("charged"):
                self.charged_epsilon += 0.01
            self.acked_reports.append((p["args"], out.get("rows")))
        elif op == "approve":
            self.acked_grants.add(p["grant"])

    # ---- checks --------------------------------------------------------------------------
    def check_import(self, p):
        base = p["base"]
        counts = {
            "members": self.db.scalar(
                f"SELECT COUNT(*) FROM members WHERE member_id >= {base} AND member_id < {base + 1000}"),
            "conversations": self.db.scalar(
                f"SELECT COUNT(*) FROM conversations WHERE conversation_id = {base}"),
            "conversation_participants": self.db.scalar(
                f"SELECT COUNT(*) FROM conversation_participants WHERE conversation_id = {base}"),
            "messages": self.db.scalar(
                f"SELECT COUNT(*) FROM messages WHERE message_id >= {base} AND message_id < {base + 1000}"),
        }
        full = {"members": len(p["members"]), "conversations": 1,
                "conversation_participants": 2, "messages": len(p["texts"])}
        for kind, n in counts.items():
            if n not in (0, full[kind]):
                raise Failure(f"import {base}: {kind} half imported ({n} of {full[kind]})")
            if p.get("acked") and n != full[kind]:
                raise Failure(f"import {base} acknowledged but {kind} has {n} of {full[kind]}")
        if counts["messages"] == full["messages"] and not p.get("acked"):
            self.stats["import"]["killed_committed"] += 1
            # Committed before the kill: from now on these must stay readable too.
            self.conversations[p["conversation"]] = p["reader"]
            self.acked_messages.update(p["texts"])
            self.track(p)

    def read_conversation(self, conv):
        reader = self.conversations[conv]
        out = self.st.ok(["messages", "read", "--as-member", str(reader), "--conversation",
                          str(conv)])
        got = {}
        for m in out["messages"]:
            if "text" in m:
                got[m["message_id"]] = m["text"]
            elif not m.get("hidden"):
                raise Failure(f"conversation {conv}: message {m['message_id']} unreadable: {m}")
            else:
                got[m["message_id"]] = None  # quarantined: hidden from the recipient by design
        return got

    def check_messages(self, conversations):
        for conv in conversations:
            got = self.read_conversation(conv)
            for mid, text in self.acked_messages.items():
                if mid in got and got[mid] is not None and got[mid] != text:
                    raise Failure(f"message {mid} reads back {got[mid]!r}, sent {text!r}")
            expected = [mid for mid in self.acked_messages if self.conv_of.get(mid) == conv]
            for mid in expected:
                if mid not in got:
                    raise Failure(f"acknowledged message {mid} missing from conversation {conv}")

    def check_datasets(self, verify_ids=None):
        listed = {d["id"]: d for d in self.st.ok(["datasets", "list"])}
        for ds in self.acked_datasets:
            if ds not in listed:
                raise Failure(f"acknowledged dataset {ds} not registered")
        if os.path.isdir(self.out):
            for name in os.listdir(self.out):
                if name.startswith("."):
                    continue  # a hidden staging folder of a killed build: never published
                if name not in listed and name not in self.reported:
                    # Reported once, when first seen; later iterations look for new ones.
                    self.reported.add(name)
                    raise Failure(f"dataset folder {name} is visible but not registered")
        for ds in listed:
            if verify_ids is None or ds in verify_ids:
                v = self.st.ok(["datasets", "verify", ds])
                if not v["ok"]:
                    raise Failure(f"dataset {ds} does not verify: {v}")
        return listed

    def check_ledger(self):
        code, out, err = self.st.run(["ledger", "verify", "--key-file", self.key_file])
        if code != 0:
            raise Failure(f"ledger verify exit {code}: {(out + err).decode(errors='replace')[-400:]}")

    def check_after(self, op, p, acked):
        self.check_ledger()
        if op == "import":
            self.check_import(p)
            if p["conversation"] in self.conversations:
                self.check_messages([p["conversation"]])
        elif op == "send":
            self.check_messages([p["conversation"]])
            if not acked and p["text"] in self.read_conversation(p["conversation"]).values():
                self.stats["send"]["killed_committed"] += 1
        elif op == "build":
            # Every listed dataset new since the last check is verified now; all at the end.
            new = self.new_datasets()
            if not acked and new:
                self.stats["build"]["killed_committed"] += 1
            listed = self.check_datasets(verify_ids=new)
            self.known_datasets = set(listed)
        elif op == "report":
            out = self.st.ok(p["args"])
            if acked:
                if out.get("charged"):
                    raise Failure(f"acknowledged report charged again: {p['args']}")
                if out.get("rows") != p["rows"]:
                    raise Failure(f"acknowledged report answers differently: {p['args']}")
            elif out.get("charged"):
                self.charged_epsilon += 0.01
            else:
                self.stats["report"]["killed_committed"] += 1
            spent = out["campaign_budget"]["spent"]
            if spent + 1e-9 < self.charged_epsilon:
                raise Failure(f"campaign budget spent {spent} < acknowledged {self.charged_epsilon:.2f}")
        elif op == "approve":
            detail = self.st.ok(["cases", "show", str(p["case"])])
            grants = [g for g in detail["grants"] if g["grant_id"] == p["grant"]]
            if not grants:
                raise Failure(f"grant {p['grant']} vanished")
            status = grants[0]["status"]
            if acked and status != "active":
                raise Failure(f"acknowledged approval of grant {p['grant']}: status {status}")
            if status not in ("active", "pending"):
                raise Failure(f"grant {p['grant']}: unexpected status {status}")
            if status == "active" and not acked:
                self.stats["approve"]["killed_committed"] += 1
            if status == "pending":
                again = self.st.ok(p["args"])  # the approval was lost whole: it can be redone
                if again["status"] != "active":
                    raise Failure(f"re-approval of grant {p['grant']}: {again}")
            self.acked_grants.add(p["grant"])

    def new_datasets(self):
        listed = {d["id"] for d in self.st.ok(["datasets", "list"])}
        return listed - self.known_datasets

    def track(self, p):
        for mid in p["texts"]:
            self.conv_of[mid] = p["conversation"]

    # ---- the loop ------------------------------------------------------------------------
    def run(self):
        self.known_datasets = set()
        t0 = time.monotonic()
        self.setup()
        print(f"[{self.backend}] setup {time.monotonic() - t0:.1f} s; measured durations: "
              + ", ".join(f"{op} {d:.2f} s" for op, d in self.durations.items()), flush=True)
        for i in range(self.args.iterations):
            op = OPS[i % len(OPS)] if i < len(OPS) else self.rng.choice(OPS)
            self.iteration(i, op)
        # Final sweep: everything ever acknowledged, every dataset verified, every grant open.
        try:
            self.check_ledger()
            self.check_messages(sorted(self.conversations))
            self.check_datasets()
            for g in sorted(self.acked_grants)[-5:]:
                opened = self.st.ok(["cases", "open", str(g), "--as", "rita"])
                for item in opened["opened"]:
                    if "text" not in item and not item.get("hidden"):
                        raise Failure(f"grant {g}: sealed item unreadable: {item}")
            self.check_ledger()
        except Failure as e:
            self.failures.append(("final", "sweep", str(e)))
        return time.monotonic() - t0

    def iteration(self, i, op):
        st = self.st
        try:
            p = self.prepare(op)
        except Failure as e:
            self.failures.append((i, op, f"prepare: {e}"))
            return
        # Half the kills anywhere in the run, half in its last third, where the commit is.
        d = self.durations[op]
        delay = self.rng.uniform(0, 1.2 * d) if self.rng.random() < 0.5 else \
            self.rng.uniform(0.7 * d, 1.1 * d)
        with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
            t0 = time.monotonic()
            proc = st.spawn(p["args"], fout, ferr)
            try:
                proc.wait(timeout=delay)
                # Finished on its own: the machine's load moves durations, follow it.
                self.durations[op] = 0.7 * d + 0.3 * (time.monotonic() - t0)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                # Not done by the delay: it takes longer than we thought (drifts up slowly).
                self.durations[op] = d * 1.03
            fout.seek(0)
            ferr.seek(0)
            out, err = fout.read(), ferr.read()
        s = self.stats[op]
        s["runs"] += 1
        acked = False
        if proc.returncode == 0:
            try:
                result = json.loads(out)
                acked = True
            except json.JSONDecodeError:
                result = None  # killed mid-print: not an acknowledgement
        if proc.returncode == -signal.SIGKILL:
            s["killed"] += 1
        elif proc.returncode != 0:
            self.failures.append((i, op, f"exit {proc.returncode} without a kill: "
                                  f"{err.decode(errors='replace')[-300:]}"))
        if acked:
            s["acked"] += 1
            if op == "report":
                p["rows"] = result.get("rows")
            self.acknowledge(op, p, result)
        try:
            self.check_after(op, p, acked)
        except Failure as e:
            self.failures.append((i, op, str(e)))
        if (i + 1) % 20 == 0:
            print(f"[{self.backend}] {i + 1} iterations, {len(self.failures)} failures",
                  flush=True)

    def report(self, seconds):
        total = sum(s["runs"] for s in self.stats.values())
        killed = sum(s["killed"] for s in self.stats.values())
        print(f"[{self.backend}] {total} iterations in {seconds:.0f} s; killed {killed}, "
              f"completed {total - killed}; failures {len(self.failures)}")
        for op, s in self.stats.items():
            print(f"[{self.backend}]   {op:8} {s['runs']:4} runs  {s['killed']:4} killed "
                  f"({s['killed_committed']} after their commit)  {s['acked']:4} acknowledged")
        staged = [n for n in os.listdir(self.out) if n.startswith(".")] if os.path.isdir(self.out) else []
        print(f"[{self.backend}]   {len(self.acked_messages)} acknowledged messages read back; "
              f"{len(self.acked_datasets)} acknowledged datasets verified; "
              f"{len(staged)} hidden staging folder(s) left by killed builds; "
              f"ε charged {self.charged_epsilon:.2f}")
        for it, op, msg in self.failures:
            print(f"[{self.backend}] FAILURE iteration {it} ({op}): {msg}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--db", required=True, help="sqlite (a fresh file is used) or a postgres URL")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--members", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    backend = "postgres" if args.db.startswith("postgres") else "sqlite"
    if backend == "sqlite":
        loop = Loop(args, backend, "")
        url = f"sqlite://{os.path.join(loop.work, 'steward.db')}"
        loop.st.db = url
        loop.db = Db(url)
    else:
        loop = Loop(args, backend, args.db)
    print(f"[{backend}] seed {args.seed}, {args.iterations} iterations, work folder {loop.work}",
          flush=True)
    try:
        seconds = loop.run()
    except Failure as e:
        print(f"[{backend}] SETUP FAILED: {e}")
        return 2
    loop.report(seconds)
    print(f"RESULT {backend} iterations={sum(s['runs'] for s in loop.stats.values())} "
          f"failures={len(loop.failures)}")
    if not args.keep and not loop.failures:
        shutil.rmtree(loop.work, ignore_errors=True)
    return 1 if loop.failures else 0


if __name__ == "__main__":
    sys.exit(main())
