//! OTLP metrics bodies from the network, in both encodings: the decoders must reject anything
//! malformed without panicking, and whatever decodes must translate without panicking, with
//! numbered samples within the label limits, and bounded delta state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otlp::{DeltaState, Options, TARGET_INFO_POINT};
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = otlp::decode_protobuf(data) {
        check(&req);
    }
    if let Ok(req) = otlp::decode_json(data) {
        check(&req);
        // What JSON decodes to must survive protobuf unchanged. (Translations may still differ: a
        // plain double of -0.0 is not put on the wire.)
        let bytes = req.encode_to_vec();
        let again = otlp::decode_protobuf(&bytes).expect("re-encoded request decodes");
        assert_eq!(again.encode_to_vec(), bytes);
    }
});

fn options() -> Options {
    Options {
        max_label_bytes: 1 << 20,
        ..Options::default()
    }
}

fn check(req: &otlp::proto::ExportMetricsServiceRequest) {
    let opts = options();
    let mut delta = DeltaState::new(16, std::time::Duration::from_secs(60));
    // Twice through the same delta state: the second pass sees every delta stream again.
    for now in [0, 1000] {
        let Ok(tr) = otlp::translate(req, &mut delta, &opts, now) else {
            continue;
        };
        assert_eq!(tr.series.len(), tr.points.len());
        assert!(tr.dropped_total() <= tr.data_points);
        assert!(tr.problems.len() <= tr.problem_count);
        assert!(delta.streams() <= 16);
        let mut seen = std::collections::HashSet::new();
        for ((labels, samples), points) in tr.series.iter().zip(&tr.points) {
            assert!(seen.insert(labels.clone()), "series {labels} twice");
            assert_eq!(samples.len(), points.len());
            assert!(labels.metric_name().is_some());
            labels
                .validate(&opts.limits)
                .expect("written series meet the limits");
            for p in points {
                assert!(*p == TARGET_INFO_POINT || u64::from(*p) < tr.data_points);
            }
        }
    }
}
