//! The web UI's files, embedded at build time from `ui/dist` (see `build.rs`), and which paths are
//! pages of the UI: the server answers those with `index.html`, and the UI's router shows the page.

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Below `/`, e.g. `/assets/app.js`.
    pub path: &'static str,
    pub body: &'static [u8],
    pub content_type: &'static str,
    /// A quoted hash of the body, for `ETag` and `If-None-Match`.
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file at `path` (`/assets/app.js`), if the UI has one.
pub fn file(path: &str) -> Option<&'static Asset> {
    FILES.iter().find(|a| a.path == path)
}

/// The page shell every UI route is served with.
pub fn index() -> &'static Asset {
    file("/index.html").expect("build.rs refuses a UI build without index.html")
}

/// The paths the UI routes itself: `/`, and every path below these sections.
const PAGES: &[&str] = &[
    "graph",
    "dashboards",
    "alerts",
    "silences",
    "rules",
    "targets",
    "tsdb-status",
];

/// Whether `path` is a page of the UI, to be answered with [`index`].
pub fn is_page(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    PAGES.contains(&first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_has_the_shell_and_its_assets() {
        let html = std::str::from_utf8(index().body).unwrap();
        assert!(
            html.contains("/assets/app.js") && html.contains("/assets/app.css"),
            "{html}"
        );
        for p in ["/assets/app.js", "/assets/app.css"] {
            let a = file(p).unwrap();
            assert!(!a.body.is_empty(), "{p}");
            assert!(a.etag.starts_with('"') && a.etag.ends_with('"'));
        }
        assert_eq!(
            file("/assets/app.js").unwrap().content_type,
            "text/javascript; charset=utf-8"
        );
        assert!(file("/nope").is_none());
    }

    #[test]
    fn pages_are_the_routed_sections() {
        for p in [
            "/",
            "/graph",
            "/alerts",
            "/silences/new",
            "/dashboards/host",
            "/tsdb-status",
        ] {
            assert!(is_page(p), "{p}");
        }
        for p in [
            "/api/v1/query",
            "/metrics",
            "/-/ready",
            "/assets/app.js",
            "/graphs",
            "/favicon.ico",
        ] {
            assert!(!is_page(p), "{p}");
        }
    }
}
