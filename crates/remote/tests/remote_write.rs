//! The remote-write codec through its public API, as the HTTP layer and the load generator use
//! it: header negotiation, snappy limits, byte-level agreement with Prometheus's .proto files,
//! and round trips.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashSet;

use proptest::prelude::*;
use remote::{
    CONTENT_TYPE_V1, CONTENT_TYPE_V2, Counts, Error, Request, Version, build_v2, check_content_encoding,
    compress, decode_body, decompress, encode_v1, encode_v2, v1, v2, version_from_content_type,
};

// ---- allocation tracking ----------------------------------------------------------------------

/// Records the largest single allocation each thread makes, so a test can show that a body was
/// refused before its output buffer existed.
struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // try_with: the allocator also runs while thread-locals are being torn down.
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

fn largest_allocation_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

// ---- hand-written protobuf, to check the field tags against the .proto files -----------------

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn f_varint(tag: u32, v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(u64::from(tag) << 3, &mut out);
    varint(v, &mut out);
    out
}

fn f_double(tag: u32, v: f64) -> Vec<u8> {
    let mut out = Vec::new();
    varint((u64::from(tag) << 3) | 1, &mut out);
    out.extend(v.to_le_bytes());
    out
}

fn f_bytes(tag: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint((u64::from(tag) << 3) | 2, &mut out);
    varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

fn packed_varints(vs: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    for &v in vs {
        varint(v, &mut out);
    }
    out
}

fn packed_doubles(vs: &[f64]) -> Vec<u8> {
    vs.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn label(name: &str, value: &str) -> Vec<u8> {
    [f_bytes(1, name.as_bytes()), f_bytes(2, value.as_bytes())].concat()
}

const TS: u64 = 1_700_000_000_000;

/// All series of a request as owned data, sample values as bits.
type Flat = Vec<(Vec<(String, String)>, Vec<(i64, u64)>)>;

fn flatten(req: &Request) -> Result<Flat, Error> {
    let mut out = Vec::new();
    req.for_each_series(|i, labels, samples| {
        assert_eq!(i, out.len());
        out.push((
            labels
                .iter()
                .map(|&(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
            samples.iter().map(|&(t, v)| (t, v.to_bits())).collect(),
        ));
        Ok(())
    })?;
    Ok(out)
}

#[test]
fn v1_fields_match_prometheus_tags() {
    let histogram = [
        f_varint(1, 7),                                                   // count_int
        f_double(3, 2.5),                                                 // sum
        f_varint(4, zigzag(-2)),                                          // schema (sint32)
        f_varint(6, 1),                                                   // zero_count_int
        f_bytes(11, &[f_varint(1, zigzag(-1)), f_varint(2, 2)].concat()), // positive span
        f_bytes(12, &packed_varints(&[zigzag(3), zigzag(-1)])),           // positive_deltas (sint64)
        f_varint(14, 2),                                                  // reset_hint NO
        f_varint(15, TS),
        f_bytes(16, &packed_doubles(&[0.1, 1.0])), // custom_values
    ]
    .concat();
    let series = [
        f_bytes(1, &label("__name__", "up")),
        f_bytes(1, &label("job", "api")),
        f_bytes(2, &[f_double(1, 1.5), f_varint(2, TS)].concat()),
        f_bytes(2, &[f_double(1, 2.5), f_varint(2, TS + 15_000)].concat()),
        f_bytes(
            3,
            &[
                f_bytes(1, &label("trace_id", "abc")),
                f_double(2, 0.5),
                f_varint(3, TS),
            ]
            .concat(),
        ),
        f_bytes(4, &histogram),
    ]
    .concat();
    let metadata = [
        f_varint(1, 1), // COUNTER
        f_bytes(2, b"http_requests_total"),
        f_bytes(4, b"Requests served."),
        f_bytes(5, b"requests"),
    ]
    .concat();
    let wire = [f_bytes(1, &series), f_bytes(3, &metadata)].concat();

    let req = decode_body(None, None, &compress(&wire), 1 << 20).unwrap();
    let Request::V1(w) = &req else {
        panic!("expected a 1.0 request")
    };
    // prost writes fields in tag order and skips defaults, as the Go encoder does, so an exact
    // re-encoding shows every field landed where the .proto says.
    assert_eq!(prost::Message::encode_to_vec(w), wire);

    let ts = &w.timeseries[0];
    assert_eq!(ts.exemplars[0].labels[0].value, "abc");
    let h = &ts.histograms[0];
    assert_eq!(h.count, Some(v1::histogram::Count::CountInt(7)));
    assert_eq!(h.schema, -2);
    assert_eq!(h.zero_count, Some(v1::histogram::ZeroCount::ZeroCountInt(1)));
    assert_eq!(
        h.positive_spans,
        vec![v1::BucketSpan {
            offset: -1,
            length: 2
        }]
    );
    assert_eq!(h.positive_deltas, vec![3, -1]);
    assert_eq!(h.reset_hint(), v1::histogram::ResetHint::No);
    assert_eq!(h.custom_values, vec![0.1, 1.0]);
    let m = &w.metadata[0];
    assert_eq!(m.r#type(), v1::metric_metadata::MetricType::Counter);
    assert_eq!(
        (m.help.as_str(), m.unit.as_str()),
        ("Requests served.", "requests")
    );

    assert_eq!(
        req.counts(),
        Counts {
            series: 1,
            samples: 2,
            histograms: 1,
            exemplars: 1
        }
    );
    let flat = flatten(&req).unwrap();
    assert_eq!(
        flat,
        vec![(
            vec![("__name__".into(), "up".into()), ("job".into(), "api".into())],
            vec![
                (TS as i64, 1.5f64.to_bits()),
                (TS as i64 + 15_000, 2.5f64.to_bits())
            ],
        )]
    );
}

#[test]
fn v2_fields_match_prometheus_tags() {
    let symbols = [
        "", "__name__", "up", "job", "api", "trace_id", "abc", "Help.", "seconds",
    ];
    let histogram = [
        f_double(2, 3.0),                          // count_float
        f_varint(4, zigzag(3)),                    // schema
        f_double(7, 1.0),                          // zero_count_float
        f_bytes(11, &[f_varint(2, 2)].concat()),   // positive span, offset 0
        f_bytes(13, &packed_doubles(&[1.0, 2.0])), // positive_counts
        f_varint(14, 3),                           // reset_hint GAUGE
        f_varint(15, TS),
    ]
    .concat();
    let series = [
        f_bytes(1, &packed_varints(&[1, 2, 3, 4])),
        f_bytes(2, &[f_double(1, 1.5), f_varint(2, TS)].concat()),
        f_bytes(3, &histogram),
        f_bytes(
            4,
            &[
                f_bytes(1, &packed_varints(&[5, 6])),
                f_double(2, 0.5),
                f_varint(3, TS),
            ]
            .concat(),
        ),
        f_bytes(5, &[f_varint(1, 2), f_varint(3, 7), f_varint(4, 8)].concat()), // GAUGE, help, unit
        f_varint(6, TS - 60_000),                                               // created_timestamp
    ]
    .concat();
    let mut wire: Vec<u8> = symbols.iter().flat_map(|s| f_bytes(4, s.as_bytes())).collect();
    wire.extend(f_bytes(5, &series));

    let req = decode_body(Some(CONTENT_TYPE_V2), Some("snappy"), &compress(&wire), 1 << 20).unwrap();
    let Request::V2(r) = &req else {
        panic!("expected a 2.0 request")
    };
    assert_eq!(prost::Message::encode_to_vec(r), wire);

    let ts = &r.timeseries[0];
    assert_eq!(ts.created_timestamp, TS as i64 - 60_000);
    let md = ts.metadata.unwrap();
    assert_eq!(md.r#type(), v2::metadata::MetricType::Gauge);
    assert_eq!(
        (
            r.symbols[md.help_ref as usize].as_str(),
            r.symbols[md.unit_ref as usize].as_str()
        ),
        ("Help.", "seconds")
    );
    let h = &ts.histograms[0];
    assert_eq!(h.count, Some(v2::histogram::Count::CountFloat(3.0)));
    assert_eq!(h.schema, 3);
    assert_eq!(h.positive_counts, vec![1.0, 2.0]);
    assert_eq!(h.reset_hint(), v2::histogram::ResetHint::Gauge);
    assert_eq!(ts.exemplars[0].labels_refs, vec![5, 6]);

    assert_eq!(
        req.counts(),
        Counts {
            series: 1,
            samples: 1,
            histograms: 1,
            exemplars: 1
        }
    );
    assert_eq!(
        flatten(&req).unwrap(),
        vec![(
            vec![("__name__".into(), "up".into()), ("job".into(), "api".into())],
            vec![(TS as i64, 1.5f64.to_bits())],
        )]
    );
}

#[test]
fn a_body_decoded_as_the_other_version_comes_out_empty() {
    // 2.0 reserves tags 1 to 3 and 1.0 does not use 4 and 5, so the mistake is harmless and visible.
    let series = vec![(vec![("__name__".to_owned(), "up".to_owned())], vec![(1, 1.0)])];
    let v2_raw = prost::Message::encode_to_vec(&build_v2(&series));
    let as_v1 = Request::decode(Version::V1, &v2_raw).unwrap();
    assert_eq!(as_v1.counts(), Counts::default());

    let v1_raw = prost::Message::encode_to_vec(&to_v1(&series));
    let as_v2 = Request::decode(Version::V2, &v1_raw).unwrap();
    assert_eq!(as_v2, Request::V2(v2::Request::default()));
}

#[test]
fn stale_marker_and_nan_survive_bit_exact() {
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let odd_nan = f64::from_bits(0xfff8_dead_beef_0001);
    let series = vec![(
        vec![("__name__".to_owned(), "x".to_owned())],
        vec![
            (1, stale),
            (2, f64::NAN),
            (3, odd_nan),
            (4, f64::INFINITY),
            (5, f64::MIN_POSITIVE / 2.0),
        ],
    )];
    let want = expected(&series);
    for (version, body) in [
        (Version::V1, encode_v1(&to_v1(&series))),
        (Version::V2, encode_v2(&build_v2(&series))),
    ] {
        let req = Request::decode(version, &decompress(&body, 1 << 20).unwrap()).unwrap();
        assert_eq!(flatten(&req).unwrap(), want);
    }
}

// ---- headers -----------------------------------------------------------------------------------

#[test]
fn content_type_negotiation() {
    let cases: &[(Option<&str>, Version)] = &[
        (None, Version::V1),
        (Some(""), Version::V1),
        (Some("  "), Version::V1),
        (Some("application/x-protobuf"), Version::V1),
        (Some(" application/x-protobuf "), Version::V1),
        (Some("Application/X-Protobuf"), Version::V1),
        (
            Some("application/x-protobuf;proto=prometheus.WriteRequest"),
            Version::V1,
        ),
        (
            Some("application/x-protobuf; proto=prometheus.WriteRequest"),
            Version::V1,
        ),
        (
            Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
            Version::V2,
        ),
        (
            Some("application/x-protobuf; proto=io.prometheus.write.v2.Request"),
            Version::V2,
        ),
        (
            Some("application/x-protobuf ;  proto=io.prometheus.write.v2.Request ;"),
            Version::V2,
        ),
        (
            Some("application/x-protobuf;PROTO=io.prometheus.write.v2.Request"),
            Version::V2,
        ),
        (
            Some("application/x-protobuf;proto=\"io.prometheus.write.v2.Request\""),
            Version::V2,
        ),
        (
            Some("application/x-protobuf;charset=utf-8;proto=io.prometheus.write.v2.Request"),
            Version::V2,
        ),
        (Some("application/x-protobuf;charset=utf-8"), Version::V1),
        (Some(CONTENT_TYPE_V1), Version::V1),
        (Some(CONTENT_TYPE_V2), Version::V2),
        (Some(Version::V2.content_type()), Version::V2),
    ];
    for &(ct, want) in cases {
        assert_eq!(version_from_content_type(ct), Ok(want), "{ct:?}");
    }

    let refused = [
        "application/json",
        "text/plain",
        "application/x-protobuf-foo",
        "application/x-protobuf;proto=io.prometheus.write.v3.Request",
        "application/x-protobuf;proto=prometheus.writerequest",
        "application/x-protobuf;proto=",
        "application/x-protobuf;proto",
        "application/x-protobuf;v2",
        "proto=io.prometheus.write.v2.Request",
    ];
    for ct in refused {
        let err = version_from_content_type(Some(ct)).unwrap_err();
        assert_eq!(err, Error::UnsupportedContentType(ct.to_owned()));
        assert!(err.to_string().contains(ct), "{err}");
    }
}

#[test]
fn content_encoding_check() {
    for ok in [None, Some(""), Some("snappy"), Some(" snappy "), Some("Snappy")] {
        assert_eq!(check_content_encoding(ok), Ok(()), "{ok:?}");
    }
    for bad in ["gzip", "zstd", "identity", "snappy, gzip", "x-snappy-framed"] {
        let err = check_content_encoding(Some(bad)).unwrap_err();
        assert_eq!(err, Error::UnsupportedEncoding(bad.to_owned()));
        assert!(err.to_string().contains(bad), "{err}");
    }
    assert!(matches!(
        decode_body(None, Some("gzip"), &compress(&[]), 1 << 20),
        Err(Error::UnsupportedEncoding(_))
    ));
}

#[test]
fn version_constants_agree() {
    assert_eq!(Version::V1.version_header_value(), remote::VERSION_V1);
    assert_eq!(Version::V2.version_header_value(), "2.0.0");
    assert_eq!(remote::VERSION_HEADER, "X-Prometheus-Remote-Write-Version");
    assert_eq!(
        remote::WRITTEN_SAMPLES_HEADER,
        "X-Prometheus-Remote-Write-Samples-Written"
    );
    assert_eq!(
        remote::WRITTEN_HISTOGRAMS_HEADER,
        "X-Prometheus-Remote-Write-Histograms-Written"
    );
    assert_eq!(
        remote::WRITTEN_EXEMPLARS_HEADER,
        "X-Prometheus-Remote-Write-Exemplars-Written"
    );
}

// ---- snappy ------------------------------------------------------------------------------------

fn header(declared: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(declared, &mut out);
    out
}

#[test]
fn snappy_bomb_is_refused_before_allocating() {
    // The tracker itself sees a large buffer.
    let (_, largest) = largest_allocation_during(|| std::hint::black_box(vec![0u8; 1 << 16]));
    assert!(largest >= 1 << 16);

    let mut body = header(1 << 30);
    body.extend([0xfe, 0xff, 0xff, 0x00]); // a 64-byte copy, if it were ever run
    let (result, largest) = largest_allocation_during(|| decompress(&body, 1 << 20));
    assert_eq!(
        result,
        Err(Error::TooLarge {
            decoded: 1 << 30,
            limit: 1 << 20
        })
    );
    assert!(largest < 4096, "allocated {largest} bytes");
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("1073741824") && message.contains("1048576"),
        "{message}"
    );

    // With a generous limit the body is still refused: 4 bytes cannot expand to 1 GiB.
    let (result, largest) = largest_allocation_during(|| decompress(&body, 2 << 30));
    assert!(matches!(result, Err(Error::Snappy(_))), "{result:?}");
    assert!(largest < 4096, "allocated {largest} bytes");

    // A header beyond what snappy can describe at all.
    let mut body = header(1 << 40);
    body.extend([0u8; 8]);
    assert!(decompress(&body, usize::MAX).is_err());
}

#[test]
fn invalid_snappy_is_an_error() {
    let bodies: &[&[u8]] = &[
        &[],                                                           // no header
        &[0x80],                                                       // header cut short
        &[0xff; 12],                                                   // header never ends
        &[0x0a, 0x01, 0x05],                   // copy from before the start of the output
        &[0x05, 0x0c, b'a', b'b', b'c', b'd'], // literal of 4 in a 5-byte output
        &[0x02, 0x0c, b'a', b'b', b'c', b'd'], // literal overruns the declared 2 bytes
        &[0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03], // a gzip header
    ];
    for body in bodies {
        assert!(
            matches!(decompress(body, 1 << 20), Err(Error::Snappy(_))),
            "{body:?}"
        );
    }
}

#[test]
fn truncated_bodies_are_errors() {
    let series: Vec<_> = (0..20)
        .map(|i| {
            (
                vec![("__name__".to_owned(), format!("metric_{i}"))],
                vec![(i, i as f64)],
            )
        })
        .collect();
    let body = encode_v1(&to_v1(&series));
    for cut in 0..body.len() {
        assert!(
            decompress(&body[..cut], 1 << 20).is_err(),
            "cut at {cut} of {}",
            body.len()
        );
    }
    assert!(decompress(&body, 1 << 20).is_ok());
    // The limit is inclusive.
    let raw_len = decompress(&body, 1 << 20).unwrap().len();
    assert!(decompress(&body, raw_len).is_ok());
    assert!(matches!(
        decompress(&body, raw_len - 1),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn highly_compressible_body_round_trips() {
    // Runs of zeros compress at snappy's best ratio, right at the expansion bound decompress uses.
    let raw = vec![0u8; 1 << 20];
    let body = compress(&raw);
    assert!(body.len() < raw.len() / 20, "{} bytes", body.len());
    assert_eq!(decompress(&body, raw.len()).unwrap(), raw);
}

#[test]
fn empty_message_round_trips() {
    assert_eq!(decompress(&compress(&[]), 0), Ok(vec![]));
    let req = decode_body(
        Some(CONTENT_TYPE_V2),
        None,
        &encode_v2(&v2::Request::default()),
        1 << 20,
    )
    .unwrap();
    assert_eq!(req.counts(), Counts::default());
}

// ---- 2.0 symbol references ---------------------------------------------------------------------

fn v2_series(labels_refs: Vec<u32>) -> v2::TimeSeries {
    v2::TimeSeries {
        labels_refs,
        samples: vec![v2::Sample {
            value: 1.0,
            timestamp: 1,
        }],
        ..Default::default()
    }
}

#[test]
fn v2_label_ref_out_of_range_names_series_and_ref() {
    let req = v2::Request {
        symbols: vec!["".into(), "__name__".into(), "up".into()],
        timeseries: vec![v2_series(vec![1, 2]), v2_series(vec![1, 9])],
    };
    let req = decode_body(Some(CONTENT_TYPE_V2), Some("snappy"), &encode_v2(&req), 1 << 20).unwrap();
    let mut seen = Vec::new();
    let err = req.for_each_series(|i, _, _| {
        seen.push(i);
        Ok(())
    });
    assert_eq!(seen, vec![0]);
    let err = err.unwrap_err();
    assert_eq!(
        err,
        Error::SymbolOutOfRange {
            series: 1,
            reference: 9,
            symbols: 3
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("series 1") && message.contains("ref 9"),
        "{message}"
    );
}

#[test]
fn v2_odd_label_refs_are_refused() {
    let req = Request::V2(v2::Request {
        symbols: vec!["".into(), "__name__".into(), "up".into()],
        timeseries: vec![v2_series(vec![1, 2, 1])],
    });
    let err = req
        .for_each_series(|_, _, _| panic!("must not be called"))
        .unwrap_err();
    assert_eq!(err, Error::OddLabelRefs { series: 0, len: 3 });
    assert!(err.to_string().contains("odd number of label refs"), "{err}");

    // No symbol table at all: even ref 0 is out of range.
    let req = Request::V2(v2::Request {
        symbols: vec![],
        timeseries: vec![v2_series(vec![0, 0])],
    });
    assert!(matches!(
        req.for_each_series(|_, _, _| Ok(())),
        Err(Error::SymbolOutOfRange { .. })
    ));
}

#[test]
fn callback_error_stops_the_walk() {
    let series: Vec<_> = (0..3)
        .map(|i| (vec![("a".to_owned(), i.to_string())], vec![]))
        .collect();
    let req = Request::V1(to_v1(&series));
    let mut calls = 0;
    let err = req.for_each_series(|i, _, _| {
        calls += 1;
        if i == 1 {
            Err(Error::Decode("stop".into()))
        } else {
            Ok(())
        }
    });
    assert_eq!(err, Err(Error::Decode("stop".into())));
    assert_eq!(calls, 2);
}

// ---- round trips -------------------------------------------------------------------------------

type Series = Vec<(Vec<(String, String)>, Vec<(i64, f64)>)>;

fn to_v1(series: &Series) -> v1::WriteRequest {
    v1::WriteRequest {
        timeseries: series
            .iter()
            .map(|(labels, samples)| v1::TimeSeries {
                labels: labels
                    .iter()
                    .map(|(n, v)| v1::Label {
                        name: n.clone(),
                        value: v.clone(),
                    })
                    .collect(),
                samples: samples
                    .iter()
                    .map(|&(timestamp, value)| v1::Sample { value, timestamp })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        metadata: vec![],
    }
}

/// What a receiver sees. Proto3 does not send a double equal to its default, and -0.0 == 0.0, so
/// -0.0 arrives as 0.0 (Prometheus's Go encoder does the same); every other value is bit-exact.
fn expected(series: &Series) -> Flat {
    series
        .iter()
        .map(|(labels, samples)| {
            let samples = samples
                .iter()
                .map(|&(t, v)| {
                    (
                        t,
                        if v.to_bits() == (-0.0f64).to_bits() {
                            0
                        } else {
                            v.to_bits()
                        },
                    )
                })
                .collect();
            (labels.clone(), samples)
        })
        .collect()
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => any::<u64>().prop_map(f64::from_bits),
        1 => Just(f64::from_bits(0x7ff0_0000_0000_0002)),
        1 => Just(f64::NAN),
        1 => Just(-0.0),
        1 => (-1000i32..1000).prop_map(f64::from),
    ]
}

fn text() -> impl Strategy<Value = String> {
    // A small alphabet so strings repeat and the symbol table has something to deduplicate.
    prop_oneof![3 => "[a-c_]{0,2}", 1 => "\\PC{0,12}"]
}

fn series() -> impl Strategy<Value = Series> {
    let labels = prop::collection::vec((text(), text()), 0..6);
    let samples = prop::collection::vec((any::<i64>(), value()), 0..6);
    prop::collection::vec((labels, samples), 0..8)
}

proptest! {
    #[test]
    fn v1_round_trip(series in series()) {
        let body = encode_v1(&to_v1(&series));
        let req = decode_body(Some(CONTENT_TYPE_V1), Some("snappy"), &body, 1 << 24).unwrap();
        prop_assert_eq!(flatten(&req).unwrap(), expected(&series));
        let samples = series.iter().map(|s| s.1.len()).sum();
        prop_assert_eq!(req.counts(), Counts { series: series.len(), samples, histograms: 0, exemplars: 0 });
    }

    #[test]
    fn v2_round_trip(series in series()) {
        let built = build_v2(&series);
        prop_assert_eq!(built.symbols.first().map(String::as_str), Some(""));
        let distinct: HashSet<&str> = built.symbols.iter().map(String::as_str).collect();
        prop_assert_eq!(distinct.len(), built.symbols.len(), "symbols repeat: {:?}", built.symbols);
        let mut used: HashSet<&str> = series.iter().flat_map(|s| &s.0).flat_map(|(n, v)| [n.as_str(), v.as_str()]).collect();
        used.insert("");
        prop_assert_eq!(&distinct, &used);

        let body = encode_v2(&built);
        let req = decode_body(Some(CONTENT_TYPE_V2), None, &body, 1 << 24).unwrap();
        prop_assert_eq!(flatten(&req).unwrap(), expected(&series));
        let samples = series.iter().map(|s| s.1.len()).sum();
        prop_assert_eq!(req.counts(), Counts { series: series.len(), samples, histograms: 0, exemplars: 0 });
    }

    #[test]
    fn snappy_round_trip(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert_eq!(decompress(&compress(&raw), raw.len()).unwrap(), raw);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decompress(&bytes, 1 << 16);
        decode_everything(&bytes);
    }

    /// Random bytes rarely get past the first protobuf field; damaged real bodies go deeper.
    #[test]
    fn damaged_bodies_never_panic(
        series in series(),
        damage in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        for raw in [
            prost::Message::encode_to_vec(&to_v1(&series)),
            prost::Message::encode_to_vec(&build_v2(&series)),
        ] {
            if raw.is_empty() {
                continue;
            }
            let mut raw = raw;
            for (at, byte) in &damage {
                let i = at.index(raw.len());
                raw[i] = *byte;
            }
            decode_everything(&raw);
            let mut body = compress(&raw);
            for (at, byte) in &damage {
                let i = at.index(body.len());
                body[i] ^= *byte;
            }
            if let Ok(raw) = decompress(&body, 1 << 20) {
                decode_everything(&raw);
            }
        }
    }
}

fn decode_everything(raw: &[u8]) {
    for version in [Version::V1, Version::V2] {
        if let Ok(req) = Request::decode(version, raw) {
            let _ = req.counts();
            let _ = req.for_each_series(|_, labels, samples| {
                std::hint::black_box((labels, samples));
                Ok(())
            });
        }
    }
}
