//! Remote-write bodies from the network: snappy framing, both protobuf versions and the 2.0
//! symbol resolution must reject anything malformed without panicking or over-allocating.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remote::{Request, Version};

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = remote::decompress(data, 1 << 20) {
        decode_both(&raw);
    }
    // The same bytes as if they had already been decompressed, to reach the protobuf decoder
    // without having to get through snappy first.
    decode_both(data);
});

fn decode_both(raw: &[u8]) {
    for version in [Version::V1, Version::V2] {
        // The zero-copy walker the server uses; where prost also accepts the body, both must agree.
        let mut walked = Vec::new();
        let walk_ok = remote::walk(version, raw, |_, labels, samples| {
            walked.push((labels.to_vec(), samples.iter().map(|(t, v)| (*t, v.to_bits())).collect::<Vec<_>>()));
            Ok(())
        })
        .is_ok();
        if let Ok(req) = Request::decode(version, raw) {
            let counts = req.counts();
            let mut seen = 0;
            let _ = req.for_each_series(|i, labels, samples| {
                assert_eq!(i, seen);
                seen += 1;
                std::hint::black_box((labels, samples));
                Ok(())
            });
            assert!(seen <= counts.series);
            if walk_ok {
                let mut i = 0;
                let _ = req.for_each_series(|_, labels, samples| {
                    let s: Vec<(i64, u64)> = samples.iter().map(|(t, v)| (*t, v.to_bits())).collect();
                    assert_eq!((labels.to_vec(), s), walked[i]);
                    i += 1;
                    Ok(())
                });
            }
        }
    }
}
