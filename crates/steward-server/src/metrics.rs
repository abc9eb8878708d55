//! Prometheus metrics: request counts by route template, method and status, and request
//! duration sums. Labels are route templates (`/api/v1/members/{id}`), never raw paths, so no
//! member id reaches a metric.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// route template → (method, status) → (requests, total seconds). Keyed by the template
/// first so that recording a request looks it up by `&str`, allocating nothing once the
/// series exists.
type Series = HashMap<String, HashMap<(&'static str, u16), (u64, f64)>>;

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Series>,
}

impl Metrics {
    fn observe(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let method = method_label(method);
        if let Ok(mut m) = self.inner.lock() {
            let by_route = match m.get_mut(route) {
                Some(r) => r,
                None => m.entry(route.to_owned()).or_default(),
            };
            let e = by_route.entry((method, status)).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += seconds;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP steward_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE steward_http_requests_total counter\n");
        // Sorted, so the exposition is stable from one scrape to the next.
        let snapshot: BTreeMap<(String, String, u16), (u64, f64)> = self
            .inner
            .lock()
            .map(|m| {
                m.iter()
                    .flat_map(|(route, by)| {
                        by.iter().map(move |((method, status), v)| {
                            ((route.clone(), (*method).to_owned(), *status), *v)
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        for ((route, method, status), (count, _)) in &snapshot {
            let _ = writeln!(
                out,
                "steward_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP steward_http_request_seconds_sum Total time spent answering, by route.\n",
        );
        out.push_str("# TYPE steward_http_request_seconds_sum counter\n");
        for ((route, method, status), (_, secs)) in &snapshot {
            let _ = writeln!(
                out,
                "steward_http_request_seconds_sum{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {secs:.6}"
            );
        }
        out
    }
}

/// The method's label. A client may send any token as a method (`FOO1`, `FOO2`, ...); naming
/// each would let it grow the series, and the server's memory, without bound.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or("OTHER")
}

/// Middleware recording every request.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let start = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        &method,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_series() {
        let metrics = Metrics::default();
        for i in 0..100 {
            let method = Method::from_bytes(format!("FOO{i}").as_bytes()).unwrap();
            metrics.observe("unmatched", &method, 405, 0.001);
        }
        metrics.observe("unmatched", &Method::GET, 404, 0.001);
        let text = metrics.render();
        let series = text
            .lines()
            .filter(|l| l.starts_with("steward_http_requests_total{"))
            .collect::<Vec<_>>();
        assert_eq!(series.len(), 2, "{text}");
        assert!(
            text.contains(r#"method="OTHER",status="405"} 100"#),
            "{text}"
        );
        assert!(text.contains(r#"method="GET",status="404"} 1"#), "{text}");
    }
}
