//! Reading small kernel files into a reused buffer, and the tokenising helpers the parsers share.
//!
//! Kernel text files are read with plain `read(2)` calls until end of file: no `fstat` for a
//! size hint (procfs reports size 0 anyway) and no allocation once the buffer has grown to the
//! largest file seen.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// Refuse files larger than this: no file this crate reads comes close, so a bigger one is not
/// the kernel's (a bind-mounted fixture gone wrong) and must not grow the buffer without bound.
const MAX_FILE_BYTES: usize = 64 << 20;

/// A growable read buffer. Its `Vec` is always fully initialised; only the first `len` bytes of
/// the last read are meaningful.
#[derive(Debug, Default)]
pub(crate) struct FileBuf {
    buf: Vec<u8>,
}

impl FileBuf {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self { buf: vec![0; bytes] }
    }

    /// The first `len` bytes of the last read (all of it when `len` is what `read` returned).
    pub(crate) fn bytes(&self, len: usize) -> &[u8] {
        self.buf.get(..len).unwrap_or_default()
    }

    /// Reads the whole file, returning its bytes.
    pub(crate) fn read(&mut self, path: &Path) -> Result<&[u8]> {
        match self.read_io(path) {
            Ok(len) => Ok(self.buf.get(..len).unwrap_or_default()),
            Err(source) => Err(Error::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn read_io(&mut self, path: &Path) -> io::Result<usize> {
        let mut file = File::open(path)?;
        let mut len = 0;
        loop {
            if len == self.buf.len() {
                if len >= MAX_FILE_BYTES {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "file larger than 64 MiB",
                    ));
                }
                let grown = (len * 2).clamp(4096, MAX_FILE_BYTES);
                self.buf.resize(grown, 0);
            }
            let Some(spare) = self.buf.get_mut(len..) else {
                return Ok(len);
            };
            match file.read(spare) {
                Ok(0) => return Ok(len),
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The lines of `bytes` that are valid UTF-8 (a label value must be), without their `\n`.
pub(crate) fn lines(bytes: &[u8]) -> impl Iterator<Item = &str> {
    bytes
        .split(|&b| b == b'\n')
        .filter_map(|line| std::str::from_utf8(line).ok())
}

/// The whole of `bytes` as text, or `None` if it is not UTF-8.
pub(crate) fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// Parses an unsigned decimal the way Go's `strconv.ParseUint` does (no sign, no blanks).
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a number the way Go's `strconv.ParseFloat` accepts the kernel's output: decimal, with
/// an optional sign and fraction. Rejects `inf`/`nan` spellings Rust would take.
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    if let Some(v) = parse_u64(s) {
        return Some(v as f64);
    }
    let first = s.bytes().next()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    s.parse().ok().filter(|v: &f64| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_files_larger_than_the_initial_buffer() {
        let dir = std::env::temp_dir().join(format!("hostmetrics-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big");
        let content: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let mut buf = FileBuf::with_capacity(16);
        assert_eq!(buf.read(&path).unwrap(), &content[..]);
        std::fs::write(&path, b"short").unwrap();
        assert_eq!(buf.read(&path).unwrap(), b"short");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_names_the_path() {
        let mut buf = FileBuf::default();
        let err = buf.read(Path::new("/nonexistent/hostmetrics")).unwrap_err();
        assert!(
            err.to_string().starts_with("read /nonexistent/hostmetrics: "),
            "{err}"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("123"), Some(123));
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64(""), None);
        assert_eq!(parse_u64("18446744073709551616"), None);
        assert_eq!(parse_f64("-1"), Some(-1.0));
        assert_eq!(parse_f64("0.37"), Some(0.37));
        assert_eq!(parse_f64("18446744073709551616"), Some(18446744073709551616.0));
        assert_eq!(parse_f64("inf"), None);
        assert_eq!(parse_f64("nan"), None);
        assert_eq!(parse_f64("+inf"), None);
        assert_eq!(parse_f64("x"), None);
    }

    #[test]
    fn lines_skip_invalid_utf8() {
        let got: Vec<&str> = lines(b"a b\n\xff\xfe\nc\n").collect();
        assert_eq!(got, ["a b", "c", ""]);
    }
}
