#!/usr/bin/env python3
"""Soak load against a running `steward serve` (driven by scripts/soak.sh).

Mixed, bounded load on loopback for a fixed time:
- members read their own profile, settings, data use, access history and conversations, change a
  setting now and then and send messages to each other;
- members also probe other members' profiles and conversations (they must get 404): these
  answers, given to non-participants, are captured to the capture folder;
- advertisers estimate audience sizes (over HTTP when the server has an estimate endpoint, else
  with `steward ads audience estimate`), captured;
- reviewers work cases: a member reports a message, a reviewer asks for a grant, an approver
  approves, the reviewer opens the scope and decides; case views and opened scopes captured;
- auditors read checkpoints and proofs, captured;
- in the middle of the run, `steward datasets build` runs against the same database.

Every answer is checked against the status it must have; anything else (or a connection error)
is an error. RSS of the server process is sampled every 10 s (`--rss-every`), split into
anonymous memory (the heap), file pages and shared memory (SQLite's WAL index is a shared
mapping), so growth can be told apart from page cache. Prints a JSON summary on stdout.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time

# Spam a recipient's scanner quarantines; reported by the recipient to open a case.
SPAM = "URGENT: verify your account at http://paypa1-account-verify.com/login"


def rss_parts_kib(pid):
    """VmRSS and its parts (KiB): anonymous, file-backed, shared memory."""
    names = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file", "RssShmem:": "shmem"}
    out = {v: 0 for v in names.values()}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key = line.split(":", 1)[0] + ":"
                if key in names:
                    out[names[key]] = int(line.split()[1])
    except FileNotFoundError:
        pass
    return out


class Client:
    def __init__(self, host, port, token=None):
        self.host, self.port, self.token = host, port, token
        self.conn = None

    def call(self, method, path, body=None):
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
                return r.status, payload
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed between requests: retry once on a
                # fresh one (not an error of the request itself).
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")


class Soak:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + a.seconds
        self.counts = {}
        self.errors = []
        self.captured = 0
        self.latencies = []
        self.stop = False
        self.capture_files = {}
        os.makedirs(a.capture, exist_ok=True)
        tokens = json.load(open(a.tokens))
        self.members = tokens["members"]  # [{"member": id, "token": secret, "peer": id, "conversation": id}]
        self.advertiser = tokens["advertiser"]
        self.reviewer = tokens["reviewer"]
        self.approver = tokens["approver"]
        self.auditor = tokens["auditor"]
        self.estimate_path = tokens.get("estimate_path")

    def client(self, token):
        return Client("127.0.0.1", self.a.port, token)

    def record(self, kind, status, expected, payload, started, capture=None):
        elapsed = time.monotonic() - started
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if len(self.latencies) < 200_000:
                self.latencies.append(elapsed)
            if status not in expected:
                if len(self.errors) < 200:
                    self.errors.append(f"{kind}: status {status} (expected {sorted(expected)}): "
                                       f"{payload[:300].decode(errors='replace')}")
                else:
                    self.errors.append("...")
            if capture is not None:
                # One JSON-lines file per kind of answer: bounded file count over long runs.
                self.captured += 1
                f = self.capture_files.get(capture)
                if f is None:
                    f = open(os.path.join(self.a.capture, f"{capture}.jsonl"), "ab")
                    self.capture_files[capture] = f
                f.write(payload.replace(b"\n", b" ") + b"\n")

    def req(self, client, kind, method, path, expected, body=None, capture=None):
        t0 = time.monotonic()
        try:
            status, payload = client.call(method, path, body)
        except Exception as e:  # noqa: BLE001 - any transport failure is an error of the soak
            status, payload = -1, repr(e).encode()
        self.record(kind, status, expected, payload, t0, capture)
        return status, payload

    # ---- roles ---------------------------------------------------------------------------
    def member_loop(self, seed):
        rng = random.Random(seed)
        clients = {m["member"]: self.client(m["token"]) for m in self.members}
        while time.monotonic() < self.deadline and not self.stop:
            me = rng.choice(self.members)
            c = clients[me["member"]]
            mid = me["member"]
            r = rng.random()
            if r < 0.15:
                self.req(c, "member.profile", "GET", f"/api/v1/members/{mid}", {200})
            elif r < 0.30:
                self.req(c, "member.settings", "GET", f"/api/v1/members/{mid}/settings", {200})
            elif r < 0.42:
                self.req(c, "member.data_use", "GET", f"/api/v1/members/{mid}/data-use", {200})
            elif r < 0.52:
                self.req(c, "member.access_history", "GET",
                         f"/api/v1/members/{mid}/access-history", {200})
            elif r < 0.62:
                self.req(c, "member.conversations", "GET",
                         f"/api/v1/members/{mid}/conversations", {200})
            elif r < 0.72:
                self.req(c, "member.conversation", "GET",
                         f"/api/v1/members/{mid}/conversations/{me['conversation']}", {200})
            elif r < 0.78:
                self.req(c, "member.send", "POST",
                         f"/api/v1/members/{mid}/conversations/{me['conversation']}/messages",
                         {200}, body={"text": f"soak message {rng.getrandbits(40):x}"})
            elif r < 0.81:
                value = rng.choice(["on", "off"])
                key = rng.choice(["ads.personalized", "ads.attr.skills", "ads.attr.region"])
                self.req(c, "member.setting_change", "PUT", f"/api/v1/members/{mid}/settings",
                         {200}, body={"key": key, "value": value})
            else:
                # A non-participant: another member's profile and conversation answer 404.
                other = rng.choice(self.members)
                if other["conversation"] == me["conversation"]:
                    continue  # my peer: we share the conversation
                if rng.random() < 0.5:
                    self.req(c, "probe.profile", "GET", f"/api/v1/members/{other['member']}",
                             {404}, capture="probe-profile")
                else:
                    self.req(c, "probe.conversation", "GET",
                             f"/api/v1/members/{mid}/conversations/{other['conversation']}",
                             {404}, capture="probe-conversation")

    def advertiser_loop(self, seed):
        rng = random.Random(seed)
        c = self.client(self.advertiser)
        exprs = ["industry in (software, finance)", "not seniority in (cxo, owner)",
                 "seniority = mid_senior", "industry = software and seniority = director",
                 "not industry = software"]
        while time.monotonic() < self.deadline and not self.stop:
            expr = rng.choice(exprs)
            if self.estimate_path:
                self.req(c, "advertiser.estimate", "POST", self.estimate_path, {200, 422},
                         body={"expression": expr}, capture="advertiser-estimate")
                time.sleep(0.02)
            else:
                t0 = time.monotonic()
                p = subprocess.run([self.a.binary, "--db", self.a.db, "--json", "ads", "audience",
                                    "estimate", expr], capture_output=True)
                self.record("advertiser.estimate_cli", p.returncode, {0, 1, 2},
                            p.stdout + p.stderr, t0, capture="advertiser-estimate")
                time.sleep(0.5)

    def reviewer_loop(self, seed):
        rng = random.Random(seed)
        rev, app = self.client(self.reviewer), self.client(self.approver)
        clients = {m["member"]: self.client(m["token"]) for m in self.members}
        while time.monotonic() < self.deadline and not self.stop:
            me = rng.choice(self.members)
            peer = next(m for m in self.members if m["member"] == me["peer"])
            # The peer sends spam; the member reports it.
            s, body = self.req(clients[peer["member"]], "member.send_spam", "POST",
                               f"/api/v1/members/{peer['member']}/conversations/{me['conversation']}/messages",
                               {200}, body={"text": SPAM})
            if s != 200:
                continue
            msg = json.loads(body)["message_id"]
            s, body = self.req(clients[me["member"]], "member.report", "POST",
                               f"/api/v1/members/{me['member']}/messages/{msg}/report", {200},
                               body={"reason": "phishing"})
            if s != 200:
                continue
            case = json.loads(body)["case_id"]
            self.req(rev, "reviewer.cases", "GET", "/api/v1/cases", {200}, capture="reviewer-cases")
            self.req(rev, "reviewer.case", "GET", f"/api/v1/cases/{case}", {200},
                     capture="reviewer-case")
            s, body = self.req(rev, "reviewer.request_grant", "POST", f"/api/v1/cases/{case}/grants",
                               {200}, body={"justification": "member report of phishing"})
            if s != 200:
                continue
            grant = json.loads(body)["grant_id"]
            self.req(app, "approver.approve", "POST", f"/api/v1/grants/{grant}/approve", {200},
                     capture="approver-grant")
            self.req(rev, "reviewer.open", "POST", f"/api/v1/grants/{grant}/open", {200},
                     capture="reviewer-open")
            self.req(rev, "reviewer.decide", "POST", f"/api/v1/cases/{case}/decision", {200},
                     body={"decision": rng.choice(["no_violation", "remove_message"])})
            time.sleep(0.2)

    def auditor_loop(self, seed):
        rng = random.Random(seed)
        c = self.client(self.auditor)
        while time.monotonic() < self.deadline and not self.stop:
            r = rng.random()
            if r < 0.5:
                self.req(c, "auditor.latest", "GET", "/api/v1/ledger/checkpoints/latest",
                         {200, 404}, capture="auditor-latest")
            elif r < 0.8:
                self.req(c, "auditor.checkpoints", "GET", "/api/v1/ledger/checkpoints", {200},
                         capture="auditor-checkpoints")
            else:
                self.req(c, "auditor.proof", "GET",
                         f"/api/v1/ledger/entries/{rng.randrange(0, 50)}/proof", {200, 404},
                         capture="auditor-proof")
            time.sleep(0.05)

    def build_in_the_middle(self):
        time.sleep(self.a.seconds / 2)
        t0 = time.monotonic()
        p = subprocess.run([self.a.binary, "--db", self.a.db, "--json", "datasets", "build",
                            self.a.spec, "--out", self.a.datasets_out], capture_output=True)
        self.build = {"exit": p.returncode, "seconds": round(time.monotonic() - t0, 2)}
        if p.returncode != 0:
            with self.lock:
                self.errors.append(f"dataset build exit {p.returncode}: "
                                   f"{p.stderr[-400:].decode(errors='replace')}")
        else:
            self.build["id"] = json.loads(p.stdout)["id"]

    def sample_rss(self):
        parts = rss_parts_kib(self.a.pid)
        t = round(time.monotonic() - self.t0, 1)
        self.rss.append((t, parts["rss"]))
        self.rss_parts.append({"t": t, **parts})

    def rss_sampler(self):
        while time.monotonic() < self.deadline and not self.stop:
            self.sample_rss()
            # Sleep in short steps so the last sample is not a whole period before the end.
            until = time.monotonic() + self.a.rss_every
            while time.monotonic() < min(until, self.deadline) and not self.stop:
                time.sleep(0.5)

    def run(self):
        self.t0 = time.monotonic()
        self.rss = []
        self.rss_parts = []
        self.build = None
        threads = [threading.Thread(target=self.rss_sampler)]
        threads += [threading.Thread(target=self.member_loop, args=(i,))
                    for i in range(self.a.member_threads)]
        threads += [threading.Thread(target=self.advertiser_loop, args=(100,)),
                    threading.Thread(target=self.reviewer_loop, args=(200,)),
                    threading.Thread(target=self.reviewer_loop, args=(201,)),
                    threading.Thread(target=self.auditor_loop, args=(300,)),
                    threading.Thread(target=self.build_in_the_middle)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for f in self.capture_files.values():
            f.close()
        seconds = time.monotonic() - self.t0
        self.sample_rss()
        total = sum(self.counts.values())
        lat = sorted(self.latencies)
        pct = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else None
        return {
            "seconds": round(seconds, 1),
            "requests": total,
            "throughput_per_s": round(total / seconds, 1),
            "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
            "errors": len(self.errors),
            "error_samples": self.errors[:20],
            "by_kind": dict(sorted(self.counts.items())),
            "captured_responses": self.captured,
            "rss_kib_samples": self.rss,
            "rss_parts_kib": self.rss_parts,
            "dataset_build": self.build,
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="the server's process id (RSS)")
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--datasets-out", required=True)
    ap.add_argument("--member-threads", type=int, default=4)
    ap.add_argument("--rss-every", type=float, default=10.0, help="seconds between RSS samples")
    a = ap.parse_args()
    summary = Soak(a).run()
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
