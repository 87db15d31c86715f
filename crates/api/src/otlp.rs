//! OTLP/HTTP metrics ingestion at `/api/v1/otlp/v1/metrics`, translated like Prometheus 3 does by
//! default (see the `otlp` crate), except that delta sums and histograms are stored as running
//! totals kept in [`ApiState::otlp_delta`]. Answers follow the OTLP/HTTP spec: 200 with an
//! `ExportMetricsServiceResponse` in the request's encoding, carrying `partial_success` when data
//! points were refused; a `google.rpc.Status` body with 400, 413, 415 and 500. Like the other
//! write endpoints, the 200 is sent only once the stored samples are durable.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use otlp::{Encoding, TARGET_INFO_POINT, Translated};
use tracing::warn;
use tsdb::Rejected;

use crate::ApiState;
use crate::ingest::{gunzip, now_ms, read_body};

const P: &str = "otlp";

fn reply(code: StatusCode, encoding: Encoding, body: Vec<u8>) -> Response {
    let mut resp = (code, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(encoding.content_type()),
    );
    resp
}

/// An error answer: a `google.rpc.Status` in the request's encoding (protobuf when unknown).
fn failure(code: StatusCode, encoding: Encoding, message: &str) -> Response {
    let rpc = match code {
        StatusCode::PAYLOAD_TOO_LARGE => otlp::code::RESOURCE_EXHAUSTED,
        c if c.is_server_error() => otlp::code::INTERNAL,
        _ => otlp::code::INVALID_ARGUMENT,
    };
    reply(code, encoding, otlp::encode_status(encoding, rpc, message))
}

pub async fn write(State(st): State<Arc<ApiState>>, headers: HeaderMap, body: Body) -> Response {
    let get = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    let encoding = match Encoding::from_content_type(get(header::CONTENT_TYPE)) {
        Ok(e) => e,
        Err(e) => {
            st.metrics.reject(P, "unsupported_media_type");
            return failure(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Encoding::Protobuf,
                &e.to_string(),
            );
        }
    };
    let gzip = match get(header::CONTENT_ENCODING).map(str::trim) {
        None | Some("") => false,
        Some(e) if e.eq_ignore_ascii_case("identity") => false,
        Some(e) if e.eq_ignore_ascii_case("gzip") => true,
        Some(e) => {
            st.metrics.reject(P, "unsupported_media_type");
            return failure(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                encoding,
                &format!("unsupported Content-Encoding {e:?}: expected gzip or identity"),
            );
        }
    };
    let body = match read_body(&st, body).await {
        Ok(b) => b,
        Err((code, msg)) => {
            st.metrics.reject(P, "too_large");
            return failure(code, encoding, &msg);
        }
    };
    // The OpenTelemetry SDKs and the Collector gzip by default. Inflate with the decoded-size
    // limit, so a small body cannot expand without bound.
    let body = if gzip {
        match gunzip(&body, st.limits.max_decoded_bytes) {
            Ok(b) => Bytes::from(b),
            Err((code, msg)) => {
                let reason = if code == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "malformed"
                };
                st.metrics.reject(P, reason);
                return failure(code, encoding, &msg);
            }
        }
    } else {
        body
    };
    let req = match otlp::decode(encoding, &body) {
        Ok(r) => r,
        Err(e) => {
            st.metrics.reject(P, "malformed");
            return failure(StatusCode::BAD_REQUEST, encoding, &e.to_string());
        }
    };
    drop(body);
    let opts = otlp::Options {
        limits: st.limits.labels,
        ..otlp::Options::default()
    };
    let translated = {
        // Held only while translating, never across an await.
        let mut delta = st.otlp_delta.lock().unwrap_or_else(PoisonError::into_inner);
        otlp::translate(&req, &mut delta, &opts, now_ms())
    };
    drop(req);
    let tr = match translated {
        Ok(t) => t,
        Err(e) => {
            st.metrics.reject(P, "too_large");
            return failure(StatusCode::PAYLOAD_TOO_LARGE, encoding, &e.to_string());
        }
    };
    st.metrics.ignore(
        P,
        "exponential_histogram",
        tr.dropped(otlp::DropReason::ExponentialHistogram),
    );
    st.metrics.ignore(P, "exemplar", tr.exemplars);
    // As for remote write 2.0: refused samples do not stop the rest from being stored.
    let mut out = match st.db.append(&tr.series, false) {
        Ok(o) => o,
        Err(e) => {
            st.metrics.reject(P, "storage");
            return failure(StatusCode::INTERNAL_SERVER_ERROR, encoding, &e.to_string());
        }
    };
    if let Err(e) = out.durable().await {
        warn!(error = %e, protocol = P, "write not made durable");
        st.metrics.reject(P, "storage");
        return failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            encoding,
            &format!("storing samples failed: {e}"),
        );
    }
    st.metrics.accepted(P, out.written + out.duplicates);
    let (refused_points, refused_text) = refused_by_storage(&tr, &out.rejected);
    let rejected = tr.dropped_total() + refused_points;
    if rejected == 0 {
        return reply(StatusCode::OK, encoding, otlp::encode_response(encoding, 0, ""));
    }
    let reason = tr
        .dropped_by_reason()
        .next()
        .map(|(r, _)| r.as_str())
        .or_else(|| out.rejected.first().map(|r| r.reason.reason()))
        .unwrap_or("unknown");
    st.metrics.reject(P, reason);
    let mut message = format!("{rejected} of {} data points refused", tr.data_points);
    for part in [tr.problems_text(), refused_text] {
        if !part.is_empty() {
            message.push_str(": ");
            message.push_str(&part);
        }
    }
    reply(
        StatusCode::OK,
        encoding,
        otlp::encode_response(encoding, rejected, &message),
    )
}

/// The data points with at least one sample the store refused, and a description of the first
/// refusal. Refused `target_info` samples are not data points and are left out.
fn refused_by_storage(tr: &Translated, rejected: &[Rejected]) -> (u64, String) {
    let mut points: HashSet<u32> = HashSet::new();
    let mut first: Option<&Rejected> = None;
    let mut samples = 0usize;
    for r in rejected {
        let Some(((_, series), ids)) = tr.series.get(r.series).zip(tr.points.get(r.series)) else {
            continue;
        };
        let mut counted = false;
        for (s, id) in series.iter().zip(ids) {
            if s.t == r.t && *id != TARGET_INFO_POINT {
                points.insert(*id);
                counted = true;
            }
        }
        if counted {
            samples += 1;
            first.get_or_insert(r);
        }
    }
    let Some(r) = first else {
        return (0, String::new());
    };
    let more = if samples > 1 {
        format!(" ({} more samples refused)", samples - 1)
    } else {
        String::new()
    };
    let text = format!(
        "{}: series {}, timestamp {}{more}",
        r.reason.message(),
        tr.series[r.series].0,
        r.t
    );
    (points.len() as u64, text)
}
