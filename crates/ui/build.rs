//! Embeds the built web UI (`ui/dist`, made by `npm run build` in `ui/`) into the binary. A build
//! without it fails here, saying how to make it, rather than producing a server that serves nothing.
//! `PHAROS_UI_DIST` points at another build of the same layout.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=PHAROS_UI_DIST");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let dist = match std::env::var_os("PHAROS_UI_DIST") {
        Some(d) => PathBuf::from(d),
        None => manifest.join("../../ui/dist"),
    };
    println!("cargo:rerun-if-changed={}", dist.display());
    let index = dist.join("index.html");
    if !index.is_file() {
        panic!(
            "\n\nthe web UI is not built: {} is missing.\n\
             Build it first with `bash scripts/build-ui.sh` (npm ci and npm run build in ui/),\n\
             or point PHAROS_UI_DIST at a built ui/dist. The README's run and test commands do this.\n\n",
            index.display()
        );
    }
    let mut files = Vec::new();
    walk(&dist, &dist, &mut files);
    files.sort();
    let mut out =
        String::from("/// Every file of the built UI: path below `/`, bytes, content type, ETag.\n");
    out.push_str("pub static FILES: &[Asset] = &[\n");
    for (rel, abs) in &files {
        println!("cargo:rerun-if-changed={}", abs.display());
        let bytes = std::fs::read(abs).unwrap_or_else(|e| panic!("reading {}: {e}", abs.display()));
        let _ = writeln!(
            out,
            "    Asset {{ path: {rel:?}, body: include_bytes!({abs:?}), content_type: {:?}, etag: \"\\\"{:016x}\\\"\" }},",
            content_type(rel),
            fnv1a(&bytes),
            abs = abs.display().to_string(),
        );
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("assets.rs");
    std::fs::write(&target, out).expect("writing assets.rs");
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for e in entries {
        let path = e.expect("directory entry").path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("below the root")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((format!("/{rel}"), path));
        }
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "map" => "application/json",
        _ => "application/octet-stream",
    }
}

/// FNV-1a 64: a content hash for the ETag, stable across builds of the same bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
