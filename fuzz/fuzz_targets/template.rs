//! Templates from rule files and notification configs: parsing arbitrary text must never panic,
//! and executing whatever parses must end (bounded depth, steps and output) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use template::{Limits, MissingKey, Template, Value, prometheus};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut t = Template::new("fuzz", prometheus::funcs());
    if t.parse(text).is_err() {
        return;
    }
    t.set_missing_key(MissingKey::Zero);
    t.set_limits(Limits { max_depth: 100, max_output: 1 << 20, max_steps: 100_000 });
    let data = Value::map([
        ("Labels", Value::map_of_strings([("instance", "host:9100"), ("job", "node")])),
        ("Value", Value::Float(1234.5)),
        ("List", Value::list([Value::Int(1), Value::str("two"), Value::Float(3.5)])),
    ]);
    let _ = t.execute(&data);
    let _ = t.execute_html(&data);
    for name in t.names() {
        let _ = t.execute_named(&name, &Value::Missing);
    }
});
