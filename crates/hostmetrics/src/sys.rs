//! The three libc calls std does not wrap: `statfs(2)`, `uname(2)` and `localtime_r(3)`.
//! All of the crate's unsafe code is here; callers get owned, checked values.

use std::ffi::{CStr, c_char};
use std::io;
use std::mem::MaybeUninit;

/// The `statfs` fields node_exporter reports, widened to `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FsStats {
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
}

/// Widens a libc integer whose width and signedness differ between targets; a negative value
/// (never written by the kernel for these fields) becomes 0.
fn widen<T: TryInto<u64>>(v: T) -> u64 {
    v.try_into().unwrap_or(0)
}

/// Widens a `c_long`, which is 32 or 64 bits depending on the target.
fn signed<T: Into<i64>>(v: T) -> i64 {
    v.into()
}

/// Narrows to a `time_t`, which is 32 bits on some targets.
fn narrow<T: TryFrom<i64>>(v: i64) -> Option<T> {
    T::try_from(v).ok()
}

pub(crate) fn statfs(path: &CStr) -> io::Result<FsStats> {
    let mut buf = MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: `path` is NUL-terminated and outlives the call; `buf` is valid for writing one
    // `struct statfs`.
    let rc = unsafe { libc::statfs(path.as_ptr(), buf.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statfs returned 0, so it filled the struct (which was zeroed before anyway).
    let st = unsafe { buf.assume_init() };
    Ok(FsStats {
        bsize: widen(st.f_bsize),
        blocks: widen(st.f_blocks),
        bfree: widen(st.f_bfree),
        bavail: widen(st.f_bavail),
        files: widen(st.f_files),
        ffree: widen(st.f_ffree),
    })
}

/// `struct utsname`, as strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Uname {
    pub sysname: String,
    pub nodename: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    pub domainname: String,
}

/// The bytes of a fixed-size C string field up to its first NUL (all of it if there is none).
fn field(raw: &[c_char]) -> String {
    let bytes: Vec<u8> = raw
        .iter()
        .map(|c| c.to_ne_bytes()[0])
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

pub(crate) fn uname() -> io::Result<Uname> {
    let mut buf = MaybeUninit::<libc::utsname>::zeroed();
    // SAFETY: `buf` is valid for writing one `struct utsname`.
    let rc = unsafe { libc::uname(buf.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: uname returned 0, so it filled the struct (zeroed before, so every field is
    // NUL-terminated even if the kernel filled one to the brim).
    let u = unsafe { buf.assume_init() };
    Ok(Uname {
        sysname: field(&u.sysname),
        nodename: field(&u.nodename),
        release: field(&u.release),
        version: field(&u.version),
        machine: field(&u.machine),
        domainname: field(&u.domainname),
    })
}

/// The local time zone's abbreviation and offset from UTC in seconds at `unix_secs`, as Go's
/// `time.Now().Zone()` gives them (`TZ`, else `/etc/localtime`, else UTC).
pub(crate) fn local_zone(unix_secs: i64) -> Option<(String, i64)> {
    let t: libc::time_t = narrow(unix_secs)?;
    let mut tm = MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: both pointers are valid for the call; localtime_r is the thread-safe variant.
    let res = unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) };
    if res.is_null() {
        return None;
    }
    // SAFETY: localtime_r returned non-null, so it filled `tm`.
    let tm = unsafe { tm.assume_init() };
    let name = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: a non-null tm_zone points to a NUL-terminated string owned by libc's time
        // zone state, valid at least until the next tzset; it is copied right away.
        unsafe { CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    Some((name, signed(tm.tm_gmtoff)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statfs_root() {
        let st = statfs(c"/").unwrap();
        assert!(st.bsize > 0 && st.blocks > 0);
        assert!(statfs(c"/nonexistent/hostmetrics").is_err());
    }

    #[test]
    fn uname_linux() {
        let u = uname().unwrap();
        assert_eq!(u.sysname, "Linux");
        assert!(!u.release.is_empty());
    }

    #[test]
    fn zone_is_known() {
        let (name, offset) = local_zone(1_700_000_000).unwrap();
        assert!(!name.is_empty());
        assert!(offset.abs() <= 14 * 3600);
    }

    #[test]
    fn field_stops_at_nul() {
        let raw: Vec<c_char> = b"abc\0def".iter().map(|&b| b as c_char).collect();
        assert_eq!(field(&raw), "abc");
    }
}
