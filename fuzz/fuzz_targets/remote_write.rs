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
        }
    }
}
