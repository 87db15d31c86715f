//! Rule files: any text either loads as rule groups (every rule then builds, its query parsed) or
//! is refused with messages; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match rules::file::parse(text) {
        Ok(groups) => {
            for g in &groups {
                for r in &g.rules {
                    assert!(rules::Rule::new(r.clone(), &g.labels, true).is_ok(), "a checked rule must build");
                }
            }
        }
        Err(errs) => assert!(!errs.is_empty()),
    }
});
