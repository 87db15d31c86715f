//! The zero-copy walker and the prost decoder must agree on every body, valid or not.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

use proptest::prelude::*;
use remote::{Request, Version, v1};

type FlatSeries = (Vec<(String, String)>, Vec<(i64, u64)>);
type Flat = Vec<FlatSeries>;

fn flatten(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> FlatSeries {
    (
        labels
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        samples.iter().map(|(t, v)| (*t, v.to_bits())).collect(),
    )
}

fn via_prost(version: Version, raw: &[u8]) -> Result<Flat, ()> {
    let req = Request::decode(version, raw).map_err(|_| ())?;
    let mut out = Vec::new();
    req.for_each_series(|_, l, s| {
        out.push(flatten(l, s));
        Ok(())
    })
    .map_err(|_| ())?;
    Ok(out)
}

fn via_walk(version: Version, raw: &[u8]) -> Result<Flat, ()> {
    let mut out = Vec::new();
    remote::walk(version, raw, |_, l, s| {
        out.push(flatten(l, s));
        Ok(())
    })
    .map_err(|_| ())?;
    Ok(out)
}

fn series() -> impl Strategy<Value = remote::OwnedSeries> {
    (
        prop::collection::vec(("[a-z_]{1,6}|\\PC{0,3}", "\\PC{0,8}"), 0..5),
        prop::collection::vec((any::<i64>(), any::<f64>()), 0..5),
    )
}

proptest! {
    #[test]
    fn walker_agrees_with_prost(list in prop::collection::vec(series(), 0..8)) {
        let v1req = v1::WriteRequest {
            timeseries: list.iter().map(|(l, s)| v1::TimeSeries {
                labels: l.iter().map(|(n, v)| v1::Label { name: n.clone(), value: v.clone() }).collect(),
                samples: s.iter().map(|(t, v)| v1::Sample { value: *v, timestamp: *t }).collect(),
                ..Default::default()
            }).collect(),
            ..Default::default()
        };
        let raw = remote::decompress(&remote::encode_v1(&v1req), 1 << 24).unwrap();
        prop_assert_eq!(via_walk(Version::V1, &raw), via_prost(Version::V1, &raw));
        let raw = remote::decompress(&remote::encode_v2(&remote::build_v2(&list)), 1 << 24).unwrap();
        prop_assert_eq!(via_walk(Version::V2, &raw), via_prost(Version::V2, &raw));
    }

    #[test]
    fn walker_never_panics_and_agrees_with_prost_when_both_accept(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for v in [Version::V1, Version::V2] {
            // The walker does not decode the inside of exemplars, histograms and metadata, so it may
            // accept a body prost refuses there; what both accept, both must read the same way.
            if let (Ok(w), Ok(p)) = (via_walk(v, &bytes), via_prost(v, &bytes)) {
                prop_assert_eq!(w, p);
            }
        }
    }
}

#[test]
fn keys_prost_refuses_are_refused() {
    // A key past 32 bits (field number over 2^29 − 1), then field number 0.
    for bytes in [
        &[205u8, 128, 128, 128, 16, 0, 0, 0, 0][..],
        &[5u8, 0, 0, 0, 0][..],
    ] {
        for v in [Version::V1, Version::V2] {
            assert!(via_prost(v, bytes).is_err());
            assert!(via_walk(v, bytes).is_err());
        }
    }
}
