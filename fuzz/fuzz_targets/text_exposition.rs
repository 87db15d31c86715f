//! Prometheus text exposition bodies from the network (imports, scrapes): the parser must reject
//! anything malformed without panicking, and what it accepts must survive a write and re-parse.
#![no_main]

use exposition::{TextItem, parse_text, write_sample};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut last_line = 0;
    for (line_no, result) in parse_text(data) {
        assert!(line_no > last_line, "line numbers must increase");
        last_line = line_no;
        let Ok(TextItem::Sample(sample)) = result else {
            continue;
        };
        assert!(!sample.name.is_empty());

        let labels: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        let mut out = String::new();
        write_sample(&mut out, &sample.name, &labels, sample.value, sample.timestamp_ms);
        let mut again = parse_text(out.as_bytes());
        let Some((1, Ok(TextItem::Sample(back)))) = again.next() else {
            panic!("{out:?} does not parse back");
        };
        assert!(again.next().is_none());
        assert_eq!(back.name, sample.name);
        assert_eq!(back.labels, sample.labels);
        assert_eq!(back.timestamp_ms, sample.timestamp_ms);
        assert!(
            back.value.to_bits() == sample.value.to_bits() || (back.value.is_nan() && sample.value.is_nan())
        );
    }
});
