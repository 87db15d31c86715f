//! Line protocol bodies from the network: the parser must reject anything malformed without
//! panicking, and every accepted line must hold what the format promises.
#![no_main]

use exposition::{FieldValue, Precision, parse_lines};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut last_line = 0;
    for (line_no, result) in parse_lines(data) {
        assert!(line_no > last_line, "line numbers must increase");
        last_line = line_no;
        let Ok(line) = result else { continue };
        assert!(!line.measurement.is_empty());
        assert!(!line.fields.is_empty());
        assert!(line.tags.iter().all(|(k, v)| !k.is_empty() && !v.is_empty()));
        for (key, value) in &line.fields {
            assert!(!key.is_empty());
            if let FieldValue::Float(v) = value {
                assert!(v.is_finite());
            }
        }
        if let Some(ts) = line.timestamp {
            for precision in [
                Precision::Nanoseconds,
                Precision::Microseconds,
                Precision::Seconds,
                Precision::Hours,
            ] {
                std::hint::black_box(precision.to_millis(ts));
            }
        }
    }
});
