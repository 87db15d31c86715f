//! OTLP/JSON: the protobuf JSON mapping as OTLP fixes it (lowerCamelCase field names, 64-bit
//! integers as strings or numbers, enums as integers, `traceId`/`spanId` in hex, other bytes in
//! base64), read into a parallel set of serde structs and converted to the protobuf structs, so the
//! translation sees one form. Like protobuf JSON parsers, this also takes the original snake_case
//! field names, enum value names, non-finite doubles as `"NaN"`/`"Infinity"`/`"-Infinity"`, and
//! `null` for absent; unknown fields are ignored, as OTLP requires.

use std::fmt;

use base64::Engine as _;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::proto;

/// Decodes an OTLP/JSON `ExportMetricsServiceRequest`.
pub fn decode(body: &[u8]) -> Result<proto::ExportMetricsServiceRequest> {
    // serde also reads structs from arrays (by position); a request must be an object.
    if let Some(b) = body.iter().find(|b| !b.is_ascii_whitespace())
        && *b != b'{'
    {
        return Err(Error::Json("expected a JSON object".into()));
    }
    let req: JRequest = serde_json::from_slice(body).map_err(|e| Error::Json(e.to_string()))?;
    req.into_proto()
}

/// Encodes a response in OTLP/JSON (int64 as a string, as the mapping prescribes).
pub fn encode_response(resp: &proto::ExportMetricsServiceResponse) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Partial<'a> {
        rejected_data_points: String,
        #[serde(skip_serializing_if = "str::is_empty")]
        error_message: &'a str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Response<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        partial_success: Option<Partial<'a>>,
    }
    let r = Response {
        partial_success: resp.partial_success.as_ref().map(|p| Partial {
            rejected_data_points: p.rejected_data_points.to_string(),
            error_message: &p.error_message,
        }),
    };
    serde_json::to_vec(&r).unwrap_or_else(|_| b"{}".to_vec())
}

/// Encodes a `google.rpc.Status` in JSON.
pub fn encode_status(status: &proto::Status) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "code": status.code, "message": status.message }))
        .unwrap_or_else(|_| b"{}".to_vec())
}

/// `null` reads as the field's default, as in protobuf JSON.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A JSON number or a string holding one: what protobuf JSON allows for every numeric field.
#[derive(Debug, Clone)]
enum Num {
    U(u64),
    I(i64),
    F(f64),
    S(String),
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a string holding a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num::U(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num::I(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num::F(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                Ok(Num::S(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

impl Num {
    fn to_i128(&self, what: &str) -> Result<i128> {
        let bad = || Error::Json(format!("{what}: {self} is not an integer"));
        match self {
            Num::U(u) => Ok(i128::from(*u)),
            Num::I(i) => Ok(i128::from(*i)),
            Num::F(f) if f.fract() == 0.0 && f.abs() < 1.9e19 => Ok(*f as i128),
            Num::F(_) => Err(bad()),
            Num::S(s) => {
                let t = s.trim();
                if let Ok(v) = t.parse::<i128>() {
                    return Ok(v);
                }
                // "1e3" and "5.0" are integers too in protobuf JSON.
                match t.parse::<f64>() {
                    Ok(f) if f.fract() == 0.0 && f.abs() < 1.9e19 => Ok(f as i128),
                    _ => Err(bad()),
                }
            }
        }
    }

    fn int<T: TryFrom<i128>>(&self, what: &str) -> Result<T> {
        T::try_from(self.to_i128(what)?).map_err(|_| Error::Json(format!("{what}: {self} is out of range")))
    }

    fn f64(&self, what: &str) -> Result<f64> {
        match self {
            Num::U(u) => Ok(*u as f64),
            Num::I(i) => Ok(*i as f64),
            Num::F(f) => Ok(*f),
            Num::S(s) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                t => t
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| Error::Json(format!("{what}: {self} is not a number"))),
            },
        }
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::U(v) => write!(f, "{v}"),
            Num::I(v) => write!(f, "{v}"),
            Num::F(v) => write!(f, "{v}"),
            Num::S(v) => write!(f, "{v:?}"),
        }
    }
}

fn opt_int<T: TryFrom<i128> + Default>(n: &Option<Num>, what: &str) -> Result<T> {
    n.as_ref().map_or(Ok(T::default()), |n| n.int(what))
}

fn opt_f64(n: &Option<Num>, what: &str) -> Result<f64> {
    n.as_ref().map_or(Ok(0.0), |n| n.f64(what))
}

/// An enum value: its number, or its name as protobuf JSON parsers also accept.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum EnumValue {
    Num(i32),
    Name(String),
}

fn temporality(v: &Option<EnumValue>, what: &str) -> Result<i32> {
    match v {
        None => Ok(0),
        Some(EnumValue::Num(n)) => Ok(*n),
        Some(EnumValue::Name(name)) => match name.as_str() {
            "AGGREGATION_TEMPORALITY_UNSPECIFIED" => Ok(0),
            "AGGREGATION_TEMPORALITY_DELTA" => Ok(1),
            "AGGREGATION_TEMPORALITY_CUMULATIVE" => Ok(2),
            _ => Err(Error::Json(format!(
                "{what}: unknown aggregation temporality {name:?}"
            ))),
        },
    }
}

fn hex(s: &str, what: &str) -> Result<Vec<u8>> {
    let bad = || Error::Json(format!("{what}: {s:?} is not hex"));
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16).ok_or_else(bad);
            Ok(((d(p[0])? << 4) | d(p[1])?) as u8)
        })
        .collect()
}

fn base64_bytes(s: &str, what: &str) -> Result<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    // Protobuf JSON writes standard base64 with padding and reads either alphabet, padded or not.
    let t = s.trim_end_matches('=');
    let mut padded = t.to_owned();
    while !padded.len().is_multiple_of(4) {
        padded.push('=');
    }
    STANDARD
        .decode(&padded)
        .or_else(|_| URL_SAFE.decode(&padded))
        .map_err(|e| Error::Json(format!("{what}: invalid base64: {e}")))
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JRequest {
    #[serde(alias = "resource_metrics", deserialize_with = "nullable")]
    resource_metrics: Vec<JResourceMetrics>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JResourceMetrics {
    resource: Option<JResource>,
    #[serde(alias = "scope_metrics", deserialize_with = "nullable")]
    scope_metrics: Vec<JScopeMetrics>,
    #[serde(alias = "schema_url", deserialize_with = "nullable")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JResource {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<JKeyValue>,
    #[serde(alias = "dropped_attributes_count")]
    dropped_attributes_count: Option<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JScopeMetrics {
    scope: Option<JScope>,
    #[serde(deserialize_with = "nullable")]
    metrics: Vec<JMetric>,
    #[serde(alias = "schema_url", deserialize_with = "nullable")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JScope {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    version: String,
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<JKeyValue>,
    #[serde(alias = "dropped_attributes_count")]
    dropped_attributes_count: Option<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct JKeyValue {
    #[serde(deserialize_with = "nullable")]
    key: String,
    value: Option<JAnyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JAnyValue {
    #[serde(alias = "string_value")]
    string_value: Option<String>,
    #[serde(alias = "bool_value")]
    bool_value: Option<bool>,
    #[serde(alias = "int_value")]
    int_value: Option<Num>,
    #[serde(alias = "double_value")]
    double_value: Option<Num>,
    #[serde(alias = "array_value")]
    array_value: Option<JValues<JAnyValue>>,
    #[serde(alias = "kvlist_value")]
    kvlist_value: Option<JValues<JKeyValue>>,
    #[serde(alias = "bytes_value")]
    bytes_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(default, bound(deserialize = "T: Deserialize<'de>"))]
struct JValues<T> {
    #[serde(deserialize_with = "nullable")]
    values: Vec<T>,
}

impl<T> Default for JValues<T> {
    fn default() -> Self {
        Self { values: Vec::new() }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JMetric {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    description: String,
    #[serde(deserialize_with = "nullable")]
    unit: String,
    gauge: Option<JPoints<JNumberPoint>>,
    sum: Option<JPoints<JNumberPoint>>,
    histogram: Option<JPoints<JHistogramPoint>>,
    #[serde(alias = "exponential_histogram")]
    exponential_histogram: Option<JPoints<JExpHistogramPoint>>,
    summary: Option<JPoints<JSummaryPoint>>,
    #[serde(deserialize_with = "nullable")]
    metadata: Vec<JKeyValue>,
}

/// Gauge, Sum, Histogram, ExponentialHistogram and Summary share their JSON shape; fields a kind
/// does not have are ignored.
#[derive(Deserialize)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "P: Deserialize<'de>"))]
struct JPoints<P> {
    #[serde(alias = "data_points", deserialize_with = "nullable")]
    data_points: Vec<P>,
    #[serde(alias = "aggregation_temporality")]
    aggregation_temporality: Option<EnumValue>,
    #[serde(alias = "is_monotonic", deserialize_with = "nullable")]
    is_monotonic: bool,
}

impl<P> Default for JPoints<P> {
    fn default() -> Self {
        Self {
            data_points: Vec::new(),
            aggregation_temporality: None,
            is_monotonic: false,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JNumberPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<JKeyValue>,
    #[serde(alias = "start_time_unix_nano")]
    start_time_unix_nano: Option<Num>,
    #[serde(alias = "time_unix_nano")]
    time_unix_nano: Option<Num>,
    #[serde(alias = "as_double")]
    as_double: Option<Num>,
    #[serde(alias = "as_int")]
    as_int: Option<Num>,
    #[serde(deserialize_with = "nullable")]
    exemplars: Vec<JExemplar>,
    flags: Option<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JHistogramPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<JKeyValue>,
    #[serde(alias = "start_time_unix_nano")]
    start_time_unix_nano: Option<Num>,
    #[serde(alias = "time_unix_nano")]
    time_unix_nano: Option<Num>,
    count: Option<Num>,
    sum: Option<Num>,
    #[serde(alias = "bucket_counts", deserialize_with = "nullable")]
    bucket_counts: Vec<Num>,
    #[serde(alias = "explicit_bounds", deserialize_with = "nullable")]
    explicit_bounds: Vec<Num>,
    #[serde(deserialize_with = "nullable")]
    exemplars: Vec<JExemplar>,
    flags: Option<Num>,
    min: Option<Num>,
    max: Option<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JBuckets {
    offset: Option<Num>,
    #[serde(alias = "bucket_counts", deserialize_with = "nullable")]
    bucket_counts: Vec<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JExpHistogramPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<JKeyValue>,
    #[serde(alias = "start_time_unix_nano")]
    start_time_unix_nano: Option<Num>,
    #[serde(alias = "time_unix_nano")]
    time_unix_nano: Option<Num>,
    count: Option<Num>,
    sum: Option<Num>,
    scale: Option<Num>,
    #[serde(alias = "zero_count")]
    zero_count: Option<Num>,
    positive: Option<JBuckets>,
    negative: Option<JBuckets>,
    flags: Option<Num>,
    #[serde(deserialize_with = "nullable")]
    exemplars: Vec<JExemplar>,
    min: Option<Num>,
    max: Option<Num>,
    #[serde(alias = "zero_threshold")]
    zero_threshold: Option<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JQuantile {
    quantile: Option<Num>,
    value: Option<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JSummaryPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<JKeyValue>,
    #[serde(alias = "start_time_unix_nano")]
    start_time_unix_nano: Option<Num>,
    #[serde(alias = "time_unix_nano")]
    time_unix_nano: Option<Num>,
    count: Option<Num>,
    sum: Option<Num>,
    #[serde(alias = "quantile_values", deserialize_with = "nullable")]
    quantile_values: Vec<JQuantile>,
    flags: Option<Num>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JExemplar {
    #[serde(alias = "filtered_attributes", deserialize_with = "nullable")]
    filtered_attributes: Vec<JKeyValue>,
    #[serde(alias = "time_unix_nano")]
    time_unix_nano: Option<Num>,
    #[serde(alias = "as_double")]
    as_double: Option<Num>,
    #[serde(alias = "as_int")]
    as_int: Option<Num>,
    #[serde(alias = "span_id", deserialize_with = "nullable")]
    span_id: String,
    #[serde(alias = "trace_id", deserialize_with = "nullable")]
    trace_id: String,
}

impl JRequest {
    fn into_proto(self) -> Result<proto::ExportMetricsServiceRequest> {
        let resource_metrics = self
            .resource_metrics
            .into_iter()
            .enumerate()
            .map(|(i, rm)| rm.into_proto(i))
            .collect::<Result<_>>()?;
        Ok(proto::ExportMetricsServiceRequest { resource_metrics })
    }
}

impl JResourceMetrics {
    fn into_proto(self, ri: usize) -> Result<proto::ResourceMetrics> {
        let what = format!("resource {ri}");
        let resource = match self.resource {
            None => None,
            Some(r) => Some(proto::Resource {
                attributes: attributes(r.attributes, &what)?,
                dropped_attributes_count: opt_int(&r.dropped_attributes_count, &what)?,
            }),
        };
        let scope_metrics = self
            .scope_metrics
            .into_iter()
            .enumerate()
            .map(|(si, sm)| sm.into_proto(ri, si))
            .collect::<Result<_>>()?;
        Ok(proto::ResourceMetrics {
            resource,
            scope_metrics,
            schema_url: self.schema_url,
        })
    }
}

impl JScopeMetrics {
    fn into_proto(self, ri: usize, si: usize) -> Result<proto::ScopeMetrics> {
        let what = format!("resource {ri} scope {si}");
        let scope = match self.scope {
            None => None,
            Some(s) => Some(proto::InstrumentationScope {
                name: s.name,
                version: s.version,
                attributes: attributes(s.attributes, &what)?,
                dropped_attributes_count: opt_int(&s.dropped_attributes_count, &what)?,
            }),
        };
        let metrics = self
            .metrics
            .into_iter()
            .enumerate()
            .map(|(mi, m)| m.into_proto(ri, si, mi))
            .collect::<Result<_>>()?;
        Ok(proto::ScopeMetrics {
            scope,
            metrics,
            schema_url: self.schema_url,
        })
    }
}

fn attributes(kvs: Vec<JKeyValue>, what: &str) -> Result<Vec<proto::KeyValue>> {
    kvs.into_iter().map(|kv| key_value(kv, what)).collect()
}

fn key_value(kv: JKeyValue, what: &str) -> Result<proto::KeyValue> {
    let value = match kv.value {
        None => None,
        Some(v) => Some(any_value(v, &format!("{what} attribute {:?}", kv.key))?),
    };
    Ok(proto::KeyValue { key: kv.key, value })
}

fn any_value(v: JAnyValue, what: &str) -> Result<proto::AnyValue> {
    use proto::any_value::Value;
    let mut set: Vec<Value> = Vec::with_capacity(1);
    if let Some(s) = v.string_value {
        set.push(Value::StringValue(s));
    }
    if let Some(b) = v.bool_value {
        set.push(Value::BoolValue(b));
    }
    if let Some(n) = &v.int_value {
        set.push(Value::IntValue(n.int(what)?));
    }
    if let Some(n) = &v.double_value {
        set.push(Value::DoubleValue(n.f64(what)?));
    }
    if let Some(a) = v.array_value {
        let values = a
            .values
            .into_iter()
            .map(|x| any_value(x, what))
            .collect::<Result<_>>()?;
        set.push(Value::ArrayValue(proto::ArrayValue { values }));
    }
    if let Some(kv) = v.kvlist_value {
        set.push(Value::KvlistValue(proto::KeyValueList {
            values: attributes(kv.values, what)?,
        }));
    }
    if let Some(b) = v.bytes_value {
        set.push(Value::BytesValue(base64_bytes(&b, what)?));
    }
    if set.len() > 1 {
        return Err(Error::Json(format!("{what}: value has more than one type")));
    }
    Ok(proto::AnyValue { value: set.pop() })
}

fn exemplars(ex: Vec<JExemplar>, what: &str) -> Result<Vec<proto::Exemplar>> {
    use proto::exemplar::Value;
    ex.into_iter()
        .map(|e| {
            let value = match (&e.as_double, &e.as_int) {
                (Some(d), None) => Some(Value::AsDouble(d.f64(what)?)),
                (None, Some(i)) => Some(Value::AsInt(i.int(what)?)),
                (None, None) => None,
                (Some(_), Some(_)) => {
                    return Err(Error::Json(format!(
                        "{what}: exemplar has both asDouble and asInt"
                    )));
                }
            };
            Ok(proto::Exemplar {
                filtered_attributes: attributes(e.filtered_attributes, what)?,
                time_unix_nano: opt_int(&e.time_unix_nano, what)?,
                value,
                span_id: hex(&e.span_id, &format!("{what} exemplar spanId"))?,
                trace_id: hex(&e.trace_id, &format!("{what} exemplar traceId"))?,
            })
        })
        .collect()
}

fn opt_f64_some(n: &Option<Num>, what: &str) -> Result<Option<f64>> {
    n.as_ref().map(|n| n.f64(what)).transpose()
}

impl JMetric {
    fn into_proto(self, ri: usize, si: usize, mi: usize) -> Result<proto::Metric> {
        use proto::metric::Data;
        let what = format!("resource {ri} scope {si} metric {mi} {:?}", self.name);
        let given = [
            self.gauge.is_some(),
            self.sum.is_some(),
            self.histogram.is_some(),
            self.exponential_histogram.is_some(),
            self.summary.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(Error::ConflictingData {
                resource: ri,
                scope: si,
                metric: mi,
                name: self.name,
            });
        }
        let point_what = |pi: usize| format!("{what} data point {pi}");
        let data = if let Some(g) = self.gauge {
            Some(Data::Gauge(proto::Gauge {
                data_points: number_points(g.data_points, &point_what)?,
            }))
        } else if let Some(s) = self.sum {
            Some(Data::Sum(proto::Sum {
                aggregation_temporality: temporality(&s.aggregation_temporality, &what)?,
                is_monotonic: s.is_monotonic,
                data_points: number_points(s.data_points, &point_what)?,
            }))
        } else if let Some(h) = self.histogram {
            let mut data_points = Vec::with_capacity(h.data_points.len());
            for (pi, p) in h.data_points.into_iter().enumerate() {
                let w = point_what(pi);
                data_points.push(proto::HistogramDataPoint {
                    attributes: attributes(p.attributes, &w)?,
                    start_time_unix_nano: opt_int(&p.start_time_unix_nano, &w)?,
                    time_unix_nano: opt_int(&p.time_unix_nano, &w)?,
                    count: opt_int(&p.count, &w)?,
                    sum: opt_f64_some(&p.sum, &w)?,
                    bucket_counts: p.bucket_counts.iter().map(|n| n.int(&w)).collect::<Result<_>>()?,
                    explicit_bounds: p
                        .explicit_bounds
                        .iter()
                        .map(|n| n.f64(&w))
                        .collect::<Result<_>>()?,
                    exemplars: exemplars(p.exemplars, &w)?,
                    flags: opt_int(&p.flags, &w)?,
                    min: opt_f64_some(&p.min, &w)?,
                    max: opt_f64_some(&p.max, &w)?,
                });
            }
            Some(Data::Histogram(proto::Histogram {
                data_points,
                aggregation_temporality: temporality(&h.aggregation_temporality, &what)?,
            }))
        } else if let Some(h) = self.exponential_histogram {
            let mut data_points = Vec::with_capacity(h.data_points.len());
            for (pi, p) in h.data_points.into_iter().enumerate() {
                let w = point_what(pi);
                let buckets = |b: Option<JBuckets>| -> Result<Option<proto::Buckets>> {
                    b.map(|b| {
                        Ok(proto::Buckets {
                            offset: opt_int(&b.offset, &w)?,
                            bucket_counts: b
                                .bucket_counts
                                .iter()
                                .map(|n| n.int(&w))
                                .collect::<Result<_>>()?,
                        })
                    })
                    .transpose()
                };
                data_points.push(proto::ExponentialHistogramDataPoint {
                    attributes: attributes(p.attributes, &w)?,
                    start_time_unix_nano: opt_int(&p.start_time_unix_nano, &w)?,
                    time_unix_nano: opt_int(&p.time_unix_nano, &w)?,
                    count: opt_int(&p.count, &w)?,
                    sum: opt_f64_some(&p.sum, &w)?,
                    scale: opt_int(&p.scale, &w)?,
                    zero_count: opt_int(&p.zero_count, &w)?,
                    positive: buckets(p.positive)?,
                    negative: buckets(p.negative)?,
                    flags: opt_int(&p.flags, &w)?,
                    exemplars: exemplars(p.exemplars, &w)?,
                    min: opt_f64_some(&p.min, &w)?,
                    max: opt_f64_some(&p.max, &w)?,
                    zero_threshold: opt_f64(&p.zero_threshold, &w)?,
                });
            }
            Some(Data::ExponentialHistogram(proto::ExponentialHistogram {
                data_points,
                aggregation_temporality: temporality(&h.aggregation_temporality, &what)?,
            }))
        } else if let Some(s) = self.summary {
            let mut data_points = Vec::with_capacity(s.data_points.len());
            for (pi, p) in s.data_points.into_iter().enumerate() {
                let w = point_what(pi);
                data_points.push(proto::SummaryDataPoint {
                    attributes: attributes(p.attributes, &w)?,
                    start_time_unix_nano: opt_int(&p.start_time_unix_nano, &w)?,
                    time_unix_nano: opt_int(&p.time_unix_nano, &w)?,
                    count: opt_int(&p.count, &w)?,
                    sum: opt_f64(&p.sum, &w)?,
                    quantile_values: p
                        .quantile_values
                        .iter()
                        .map(|q| {
                            Ok(proto::ValueAtQuantile {
                                quantile: opt_f64(&q.quantile, &w)?,
                                value: opt_f64(&q.value, &w)?,
                            })
                        })
                        .collect::<Result<_>>()?,
                    flags: opt_int(&p.flags, &w)?,
                });
            }
            Some(Data::Summary(proto::Summary { data_points }))
        } else {
            None
        };
        Ok(proto::Metric {
            metadata: attributes(self.metadata, &what)?,
            name: self.name,
            description: self.description,
            unit: self.unit,
            data,
        })
    }
}

fn number_points(
    points: Vec<JNumberPoint>,
    what: &dyn Fn(usize) -> String,
) -> Result<Vec<proto::NumberDataPoint>> {
    use proto::number_data_point::Value;
    points
        .into_iter()
        .enumerate()
        .map(|(pi, p)| {
            let w = what(pi);
            let value = match (&p.as_double, &p.as_int) {
                (Some(d), None) => Some(Value::AsDouble(d.f64(&w)?)),
                (None, Some(i)) => Some(Value::AsInt(i.int(&w)?)),
                (None, None) => None,
                (Some(_), Some(_)) => {
                    return Err(Error::Json(format!("{w}: both asDouble and asInt are set")));
                }
            };
            Ok(proto::NumberDataPoint {
                attributes: attributes(p.attributes, &w)?,
                start_time_unix_nano: opt_int(&p.start_time_unix_nano, &w)?,
                time_unix_nano: opt_int(&p.time_unix_nano, &w)?,
                value,
                exemplars: exemplars(p.exemplars, &w)?,
                flags: opt_int(&p.flags, &w)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_take_every_protobuf_json_form() {
        let n = |s: &str| serde_json::from_str::<Num>(s).unwrap();
        assert_eq!(n("\"18446744073709551615\"").int::<u64>("x").unwrap(), u64::MAX);
        assert_eq!(n("-5").int::<i64>("x").unwrap(), -5);
        assert_eq!(n("\"1e3\"").int::<u64>("x").unwrap(), 1000);
        assert_eq!(n("7.0").int::<u32>("x").unwrap(), 7);
        assert!(n("7.5").int::<u32>("x").is_err());
        assert_eq!(
            n("-1").int::<u64>("point 3").unwrap_err().to_string(),
            "invalid JSON body: point 3: -1 is out of range"
        );
        assert!(n("\"NaN\"").f64("x").unwrap().is_nan());
        assert_eq!(n("\"-Infinity\"").f64("x").unwrap(), f64::NEG_INFINITY);
        assert_eq!(n("\"2.5\"").f64("x").unwrap(), 2.5);
        assert!(n("\"abc\"").f64("x").is_err());
    }

    #[test]
    fn ids_are_hex_and_bytes_base64() {
        assert_eq!(hex("0aFf", "x").unwrap(), vec![0x0a, 0xff]);
        assert!(hex("0g", "x").is_err());
        assert!(hex("abc", "x").is_err());
        assert_eq!(
            base64_bytes("3q2+7w==", "x").unwrap(),
            vec![0xde, 0xad, 0xbe, 0xef]
        );
        assert_eq!(base64_bytes("3q2-7w", "x").unwrap(), vec![0xde, 0xad, 0xbe, 0xef]);
    }

    #[test]
    fn errors_name_the_metric_and_point() {
        let body = br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
            {"name":"ok","gauge":{"dataPoints":[{"asInt":"1"}]}},
            {"name":"bad","gauge":{"dataPoints":[{"asInt":"1"},{"asInt":"x"}]}}]}]}]}"#;
        assert_eq!(
            decode(body).unwrap_err().to_string(),
            "invalid JSON body: resource 0 scope 0 metric 1 \"bad\" data point 1: \"x\" is not an integer"
        );
        let body = br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
            {"name":"two","gauge":{"dataPoints":[]},"sum":{"dataPoints":[]}}]}]}]}"#;
        assert_eq!(
            decode(body).unwrap_err().to_string(),
            "resource 0 scope 0 metric 0 \"two\": more than one of gauge, sum, histogram, \
             exponentialHistogram and summary is set"
        );
        assert!(
            decode(b"{")
                .unwrap_err()
                .to_string()
                .starts_with("invalid JSON body: ")
        );
        assert!(decode(b"[]").is_err());
        assert_eq!(decode(b"{}").unwrap().resource_metrics.len(), 0);
        assert_eq!(
            decode(br#"{"resourceMetrics":null}"#)
                .unwrap()
                .resource_metrics
                .len(),
            0
        );
    }

    #[test]
    fn response_is_camel_case_with_string_int64() {
        let r = proto::ExportMetricsServiceResponse {
            partial_success: Some(proto::ExportMetricsPartialSuccess {
                rejected_data_points: 3,
                error_message: "why".into(),
            }),
        };
        assert_eq!(
            String::from_utf8(encode_response(&r)).unwrap(),
            r#"{"partialSuccess":{"rejectedDataPoints":"3","errorMessage":"why"}}"#
        );
        let ok = proto::ExportMetricsServiceResponse::default();
        assert_eq!(encode_response(&ok), b"{}");
    }
}
