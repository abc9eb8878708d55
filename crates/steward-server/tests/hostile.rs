//! Hostile input over real sockets: oversized bodies and headers, deep JSON, invalid UTF-8, SQL
//! metacharacters, path traversal, header injection and slow clients. Each is answered with a
//! clear 4xx (or a timeout) — a JSON `{"error": {"code", "message"}}` with a stable code whenever
//! the request got as far as the application, a bare 4xx from the HTTP parser otherwise — with
//! nothing stored changed, and the server still serving afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use steward_core::Policy;
use steward_server::auth::{Role, create_token};
use steward_server::{AppState, Limits};
use steward_store::seed::{SeedConfig, seed};
use steward_store::{PlaintextForTestsOnly, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Server {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    store: Arc<Store>,
    admin: String,
    member: String,
    conversation: i64,
}

async fn start(timeout: Duration) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Arc::new(Store::open(&url).unwrap());
    seed(
        &store,
        &SeedConfig {
            members: 5,
            seed: 1,
            canary_path: dir.path().join("canaries.jsonl"),
        },
        &PlaintextForTestsOnly,
    )
    .unwrap();
    let keyring = steward_vault::Keyring::open_or_create(&dir.path().join("steward.keys")).unwrap();
    let mut state = AppState::new(store.clone(), Arc::new(Policy::builtin().unwrap()))
        .unwrap()
        .with_keyring(keyring)
        .unwrap();
    state.limits = Limits {
        timeout,
        ..Limits::default()
    };
    steward_vault::safety::migrate(&store).unwrap();
    let conversation = {
        let keys = state.keys.clone().unwrap();
        let vault = keys.vault.read().unwrap();
        let s = steward_vault::Safety::new(&vault, &keys.scanner, state.policy.taxonomy(), "test");
        store
            .transaction(|tx| {
                let c = s.start_conversation(tx, 1, &[2], 1)?;
                s.send_message(tx, 1, c, "hello", &[], 1)?;
                Ok::<_, steward_vault::safety::SafetyError>(c)
            })
            .unwrap()
    };
    let admin = create_token(&store, Role::Admin, None, "test", 1)
        .unwrap()
        .secret;
    let member = create_token(&store, Role::Member, Some(1), "test", 1)
        .unwrap()
        .secret;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(steward_server::serve_listener(listener, state));
    let server = Server {
        _dir: dir,
        addr,
        store,
        admin,
        member,
        conversation,
    };
    // Start-up writes (the ads schema and noise key) are done once the server answers: only
    // then is "nothing stored changed" about the hostile requests alone.
    server.assert_serving().await;
    server
}

/// An answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// A 4xx in the API's error shape with `code`.
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code().as_str()),
            (status, code),
            "{self:?} / {}",
            String::from_utf8_lossy(&self.body)
        );
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{self:?}"
        );
    }
}

fn parse(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .unwrap_or(0);
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        body = out;
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// Sends raw bytes and reads the answer until the server closes the connection.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before reading everything (a body past the limit).
    let _ = s.write_all(bytes).await;
    read_answer(&mut s).await
}

async fn read_answer(s: &mut TcpStream) -> Answer {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        let mut chunk = [0u8; 8192];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server neither answered nor closed");
    parse(&buf)
}

fn request(method: &str, path: &str, token: Option<&str>, body: Option<&[u8]>) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(t) = token {
        r.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let mut bytes = r.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                b.len()
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(b);
    } else {
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}

/// Every row of every table, hashed: equal before and after means nothing stored changed.
fn snapshot(store: &Store) -> String {
    store
        .read(|tx| {
            let tables = tx.query(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                &[],
            )?;
            let mut h = Sha256::new();
            for t in tables {
                let name = format!("{:?}", t.values()[0]);
                let name = name.trim_start_matches("Text(\"").trim_end_matches("\")");
                let mut rows: Vec<String> = tx
                    .query(&format!("SELECT * FROM \"{name}\""), &[])?
                    .iter()
                    .map(|r| format!("{:?}", r.values()))
                    .collect();
                rows.sort();
                h.update(name.as_bytes());
                for r in rows {
                    h.update(r.as_bytes());
                    h.update(b"\n");
                }
            }
            Ok::<_, steward_store::StoreError>(format!("{:?}", h.finalize().as_slice()))
        })
        .unwrap()
}

impl Server {
    /// The server still answers a plain health check and an authenticated read.
    async fn assert_serving(&self) {
        let a = raw(self.addr, &request("GET", "/healthz", None, None)).await;
        assert_eq!(a.status, 200, "{a:?}");
        let a = raw(
            self.addr,
            &request("GET", "/api/v1/policy/matrix", Some(&self.admin), None),
        )
        .await;
        assert_eq!(a.status, 200, "{a:?}");
    }

    /// Sends `bytes`, checks the answer with `check`, then that nothing stored changed and the
    /// server still serves.
    async fn hostile(&self, bytes: &[u8], check: impl FnOnce(&Answer)) -> Answer {
        let before = snapshot(&self.store);
        let a = raw(self.addr, bytes).await;
        check(&a);
        assert!(
            !String::from_utf8_lossy(&a.body).contains("root:"),
            "no file content leaks"
        );
        assert_eq!(before, snapshot(&self.store), "nothing stored changed");
        self.assert_serving().await;
        a
    }

    fn send_path(&self) -> String {
        format!(
            "/api/v1/members/1/conversations/{}/messages",
            self.conversation
        )
    }
}

#[tokio::test]
async fn oversized_bodies_and_headers_are_refused() {
    let s = start(Duration::from_secs(15)).await;
    let send = s.send_path();
    // Declared too large: refused before a byte of the body is read.
    let head = format!(
        "POST {send} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        s.member,
        8 << 20
    );
    s.hostile(head.as_bytes(), |a| {
        a.assert_error(413, "request.too_large")
    })
    .await;
    // Within the body limit but over the message limit (64 KiB of text, all Markdown link
    // markers): refused before the scanner or the store sees it.
    let text = "](".repeat((64 << 10) / 2 + 1);
    let body = format!("{{\"text\": \"{text}\"}}");
    s.hostile(
        &request("POST", &send, Some(&s.member), Some(body.as_bytes())),
        |a| a.assert_error(400, "safety.invalid"),
    )
    .await;
    // Sent whole, with a truthful length.
    let text = "x".repeat(2 << 20);
    let body = format!("{{\"text\": \"{text}\"}}");
    s.hostile(
        &request("POST", &send, Some(&s.member), Some(body.as_bytes())),
        |a| a.assert_error(413, "request.too_large"),
    )
    .await;
    // Chunked, no length given: the limit holds while reading.
    let mut chunked = format!(
        "POST {send} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        s.member
    )
    .into_bytes();
    let chunk = format!("{{\"text\": \"{}", "y".repeat(64 << 10));
    for _ in 0..40 {
        chunked.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    s.hostile(&chunked, |a| {
        assert_eq!(a.status, 413, "{a:?}");
        assert!(
            ["request.too_large", "invalid_body"].contains(&a.code().as_str()),
            "{a:?}"
        );
    })
    .await;
    // A header block past the parser's limit: a bare 431 from the HTTP layer.
    let mut big = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for i in 0..2000 {
        big.push_str(&format!("X-Filler-{i}: {}\r\n", "z".repeat(200)));
    }
    big.push_str("\r\n");
    s.hostile(big.as_bytes(), |a| {
        assert!(a.status == 431 || a.status == 400, "{a:?}");
    })
    .await;
}

#[tokio::test]
async fn deep_json_is_refused_without_exhausting_the_stack() {
    let s = start(Duration::from_secs(15)).await;
    let depth = 200_000;
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    s.hostile(
        &request(
            "POST",
            "/api/v1/policy/diff",
            Some(&s.admin),
            Some(deep.as_bytes()),
        ),
        |a| {
            assert!(a.status == 400 || a.status == 422, "{a:?}");
            assert_eq!(a.code(), "invalid_body");
        },
    )
    .await;
    // Nested inside an object, where a field is expected.
    let nested = format!(
        "{{\"text\": {}\"x\"{}}}",
        "{\"a\":".repeat(depth / 4),
        "}".repeat(depth / 4)
    );
    s.hostile(
        &request(
            "POST",
            &s.send_path(),
            Some(&s.member),
            Some(nested.as_bytes()),
        ),
        |a| {
            assert!(a.status == 400 || a.status == 422, "{a:?}");
            assert_eq!(a.code(), "invalid_body");
        },
    )
    .await;
    let arrays = format!(
        "{{\"text\": \"hi\", \"attachments\": {}{}}}",
        "[".repeat(depth / 2),
        "]".repeat(depth / 2)
    );
    s.hostile(
        &request(
            "POST",
            &s.send_path(),
            Some(&s.member),
            Some(arrays.as_bytes()),
        ),
        |a| {
            assert!(a.status == 400 || a.status == 422, "{a:?}");
            assert_eq!(a.code(), "invalid_body");
        },
    )
    .await;
}

#[tokio::test]
async fn invalid_utf8_is_refused() {
    let s = start(Duration::from_secs(15)).await;
    let mut body = b"{\"text\": \"caf".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    body.extend_from_slice(b"\"}");
    s.hostile(
        &request("POST", &s.send_path(), Some(&s.member), Some(&body)),
        |a| {
            assert!(a.status == 400 || a.status == 422, "{a:?}");
            assert_eq!(a.code(), "invalid_body");
        },
    )
    .await;
    // Percent-encoded invalid UTF-8 in a path parameter and in a query.
    s.hostile(
        &request("GET", "/api/v1/members/%FF%FE", Some(&s.admin), None),
        |a| a.assert_error(400, "bad_request"),
    )
    .await;
    s.hostile(
        &request(
            "GET",
            "/api/v1/policy/explain?purpose=%FF%FE&category=member",
            Some(&s.admin),
            None,
        ),
        |a| {
            assert_eq!(a.status, 400, "{a:?}");
            assert!(
                ["invalid_query", "policy.unknown_purpose"].contains(&a.code().as_str()),
                "{a:?}"
            );
        },
    )
    .await;
    // Raw bytes that are not UTF-8 in the request line: the parser refuses them.
    let mut line = b"GET /api/v1/members/".to_vec();
    line.extend_from_slice(&[0xff, 0xfe]);
    line.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.hostile(&line, |a| assert!((400..500).contains(&a.status), "{a:?}"))
        .await;
    // And in the token.
    let mut auth = b"GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer stw_".to_vec();
    auth.extend_from_slice(&[0xff, 0xc0, 0x80]);
    auth.extend_from_slice(b"\r\n\r\n");
    s.hostile(&auth, |a| {
        assert_eq!(a.status, 401, "{a:?}");
        assert!(a.code().starts_with("auth."), "{a:?}");
    })
    .await;
}

#[tokio::test]
async fn sql_metacharacters_are_data() {
    let s = start(Duration::from_secs(15)).await;
    for path in [
        "/api/v1/members/1%27%20OR%20%271%27%3D%271",
        "/api/v1/members/1%3B%20DROP%20TABLE%20members%3B--",
        "/api/v1/members/1%20UNION%20SELECT%20token_hash%20FROM%20api_tokens/export",
        "/api/v1/cases/1%20OR%201%3D1",
        "/api/v1/ledger/entries/0%20OR%201%3D1/proof",
    ] {
        s.hostile(&request("GET", path, Some(&s.admin), None), |a| {
            assert!(a.status == 404 || a.status == 400, "{path}: {a:?}");
            assert!(!a.code().is_empty(), "{path}: {a:?}");
        })
        .await;
    }
    s.hostile(
        &request(
            "GET",
            "/api/v1/policy/explain?purpose=ai.training%27%20OR%20%271%27%3D%271&category=member",
            Some(&s.admin),
            None,
        ),
        |a| a.assert_error(400, "policy.unknown_purpose"),
    )
    .await;
    let body = serde_json::json!({"key": "ai.training'; DROP TABLE members;--", "value": "off"});
    s.hostile(
        &request(
            "PUT",
            "/api/v1/members/1/settings",
            Some(&s.member),
            Some(body.to_string().as_bytes()),
        ),
        |a| {
            assert_eq!(a.status, 400, "{a:?}");
            assert!(!a.code().is_empty(), "{a:?}");
        },
    )
    .await;
    s.hostile(
        &request("GET", "/api/v1/whoami", Some("' OR '1'='1"), None),
        |a| a.assert_error(401, "auth.invalid_token"),
    )
    .await;
    // Accepted as text: stored exactly, read back exactly, every table still there.
    let members = s
        .store
        .read(|tx| tx.query_i64("SELECT COUNT(*) FROM members", &[]))
        .unwrap();
    let evil = "'); DROP TABLE messages; DELETE FROM members; --\" OR 1=1 /*";
    let body = serde_json::json!({ "text": evil }).to_string();
    let a = raw(
        s.addr,
        &request(
            "POST",
            &s.send_path(),
            Some(&s.member),
            Some(body.as_bytes()),
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = raw(
        s.addr,
        &request(
            "GET",
            &format!("/api/v1/members/1/conversations/{}", s.conversation),
            Some(&s.member),
            None,
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(
        a.json()
            .to_string()
            .contains(&serde_json::json!(evil).to_string()[1..evil.len()])
    );
    let after = s
        .store
        .read(|tx| tx.query_i64("SELECT COUNT(*) FROM members", &[]))
        .unwrap();
    assert_eq!(members, after);
    s.assert_serving().await;
}

#[tokio::test]
async fn path_traversal_reaches_no_file() {
    let s = start(Duration::from_secs(15)).await;
    for path in [
        "/api/v1/members/..%2F..%2F..%2Fetc%2Fpasswd/export",
        "/api/v1/members/1/export/../../../../etc/passwd",
        "/api/v1/members/%2e%2e/export",
        "/ui/../../../../etc/passwd",
        "/ui/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/ui/..%2f..%2f..%2fetc%2fpasswd",
        "/api/v1/datasets/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/datasets/../../etc/passwd",
        "/../../../../etc/passwd",
    ] {
        for token in [&s.member, &s.admin] {
            s.hostile(&request("GET", path, Some(token), None), |a| {
                assert!(
                    a.status == 404 || a.status == 400,
                    "{path}: {a:?} {}",
                    String::from_utf8_lossy(&a.body)
                );
                assert!(!a.code().is_empty(), "{path}: {a:?}");
            })
            .await;
        }
    }
}

#[tokio::test]
async fn header_injection_is_refused() {
    let s = start(Duration::from_secs(15)).await;
    // A bare CR inside a header value: the parser refuses the request.
    let bare_cr = format!(
        "GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\rX-Role: admin\r\n\r\n",
        s.member
    );
    s.hostile(bare_cr.as_bytes(), |a| {
        assert!((400..500).contains(&a.status), "{a:?}");
        assert_ne!(a.status, 200);
    })
    .await;
    // An obsolete folded header line smuggling a second header.
    let folded = format!(
        "GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Note: a\r\n Authorization: Bearer {}\r\n\r\n",
        s.admin
    );
    s.hostile(folded.as_bytes(), |a| {
        assert!((400..500).contains(&a.status), "{a:?}");
    })
    .await;
    // Two different lengths: request smuggling refused.
    let smuggle = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 14\r\nContent-Length: 60\r\n\r\n{{\"text\":\"ab\"}}",
        s.send_path(),
        s.member
    );
    s.hostile(smuggle.as_bytes(), |a| assert_eq!(a.status, 400, "{a:?}"))
        .await;
    // CR/LF percent-encoded into a path: no header of the answer carries it.
    let a = s
        .hostile(
            &request(
                "GET",
                "/api/v1/members/1%0D%0ASet-Cookie:%20pwned=1/export",
                Some(&s.member),
                None,
            ),
            |a| a.assert_error(404, "not_found"),
        )
        .await;
    assert!(a.header("set-cookie").is_none(), "{a:?}");
    // A NUL in a header value.
    let nul = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-A: a\0b\r\n\r\n";
    s.hostile(nul.as_bytes(), |a| {
        assert!((400..500).contains(&a.status), "{a:?}");
    })
    .await;
}

#[tokio::test]
async fn a_body_trickled_slower_than_the_timeout_times_out() {
    let timeout = Duration::from_secs(1);
    let s = start(timeout).await;
    let before = snapshot(&s.store);
    let body = serde_json::json!({ "text": "slowly, very slowly" }).to_string();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        s.send_path(),
        s.member,
        body.len()
    );
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let addr = s.addr;
    let trickle = tokio::spawn(async move {
        for b in body.bytes() {
            if slow.write_all(&[b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            if started.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        slow
    });
    // Others are served while the slow client dribbles.
    let a = raw(addr, &request("GET", "/healthz", None, None)).await;
    assert_eq!(a.status, 200);
    let mut slow = trickle.await.unwrap();
    let a = read_answer(&mut slow).await;
    a.assert_error(408, "request.timeout");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(before, snapshot(&s.store), "nothing stored changed");
    s.assert_serving().await;
}

#[tokio::test]
async fn headers_trickled_forever_do_not_hold_a_connection() {
    let s = start(Duration::from_secs(1)).await;
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut closed = false;
    for i in 0..60 {
        if slow
            .write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        let mut b = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(500), slow.read(&mut b)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) => {
                closed = true; // answered (408/400) before the headers ended
                break;
            }
            Err(_) => {}
        }
    }
    assert!(
        closed,
        "a client trickling headers held its connection for {:?}",
        started.elapsed()
    );
    s.assert_serving().await;
}
