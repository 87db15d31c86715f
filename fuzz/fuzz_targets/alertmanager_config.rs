//! alertmanager.yml and the matcher syntax used by the API and amtool: any text loads or is refused
//! with an error; a loaded config builds its routing tree; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cfg) = notify::Config::load(text) {
        let _ = notify::Route::new(&cfg.route);
        let _ = cfg.to_status_yaml();
    }
    let _ = notify::parse_matchers(text);
});
