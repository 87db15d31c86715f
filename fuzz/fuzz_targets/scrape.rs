//! Scrape bodies and discovery documents from the network: a target's answer in either format, run
//! through the per-target cache twice (a fresh parse, then the cached path), and file or HTTP SD
//! documents. Nothing may panic; a failed scrape leaves only staleness markers for what the last
//! good one had.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scrape::{Cache, Format, Resolve, Settings};

struct Count(usize);

impl Resolve for Count {
    type Ref = usize;
    fn resolve(&mut self, labels: &[(String, String)]) -> Option<usize> {
        assert!(labels.windows(2).all(|w| w[0].0 < w[1].0), "labels sorted and unique");
        assert!(labels.iter().all(|(_, v)| !v.is_empty()), "no empty values");
        self.0 += 1;
        Some(self.0)
    }
}

fuzz_target!(|data: &[u8]| {
    let target = vec![
        ("instance".to_string(), "h:1".to_string()),
        ("job".to_string(), "j".to_string()),
    ];
    for (format, honor) in [(Format::PrometheusText, false), (Format::OpenMetrics, true)] {
        let settings = Settings {
            target_labels: &target,
            honor_labels: honor,
            honor_timestamps: true,
            track_timestamps_staleness: false,
            metric_relabel: &[],
            limits: Default::default(),
        };
        let mut cache = Cache::new();
        let mut sink = Count(0);
        let first = cache.scrape(data, format, 1_000, &settings, &mut sink);
        let second = cache.scrape(data, format, 2_000, &settings, &mut sink);
        assert_eq!(first.error.is_some(), second.error.is_some(), "same body, same verdict");
        if first.error.is_none() {
            assert_eq!(first.scraped, second.scraped);
            assert_eq!(second.series_added, 0, "a repeated body adds no series");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = scrape::parse_file_sd("f.yml", text);
        let _ = scrape::parse_file_sd("f.json", text);
    }
    let _ = scrape::parse_http_sd("http://sd/", data);
});
