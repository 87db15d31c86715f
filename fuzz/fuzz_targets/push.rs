//! Pushgateway-style pushes from the network: URL paths and bodies in both formats. Parsing must
//! refuse anything malformed without panicking; whatever is accepted must render an exposition
//! that parses back, sample for sample.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first line is the grouping path, the rest the body.
    let (path, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"job/fuzz"[..], data),
    };
    let key = std::str::from_utf8(path)
        .ok()
        .and_then(|p| push::parse_grouping_path(p).ok())
        .unwrap_or_else(|| vec![("job".to_string(), "fuzz".to_string())]);
    assert!(key.iter().any(|(n, v)| n == "job" && !v.is_empty()));
    let store = push::Store::memory();
    for parsed in [push::parse_text(body), push::parse_protobuf(body)] {
        let Ok(parsed) = parsed else { continue };
        let samples: usize = parsed.families.values().map(|f| f.samples.len()).sum();
        let method = if samples % 2 == 0 { push::Method::Put } else { push::Method::Post };
        if store.push(key.clone(), parsed, method, 1.0).is_err() {
            continue;
        }
        let mut text = String::new();
        store.render(&mut text);
        let again = push::parse_text(text.as_bytes()).expect("the rendered exposition parses");
        let exposed: usize = again.families.values().map(|f| f.samples.len()).sum();
        let stored: usize = store
            .groups()
            .iter()
            .flat_map(|g| g.families.values())
            .map(|f| f.samples.len())
            .sum();
        // Plus push_time_seconds and push_failure_time_seconds for the one group.
        assert_eq!(exposed, stored + 2);
    }
});
