//! The `filesystem` collector: `statfs(2)` of every mount point in `/proc/1/mounts` that
//! node_exporter's default filters keep (Debian's build:
//! `--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`,
//! `--collector.filesystem.fs-types-exclude=^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$`).
//!
//! `statfs` on a dead network mount can block for minutes, so it runs on a helper thread and a
//! collection waits for it at most the mount timeout in all. A mount point that does not answer
//! in time is reported with `node_filesystem_device_error 1` and skipped (reported the same way,
//! without a call) until its pending `statfs` returns; the mount points after it are reported
//! that way for this one collection and tried again at the next.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::io;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exposition::MetricType;

use crate::Family;
use crate::read::lines;
use crate::sys::{self, FsStats};

/// node_exporter's (Debian's) default mount point exclusion, matched by hand.
pub(crate) fn mount_point_excluded(mount_point: &str) -> bool {
    let Some(rest) = mount_point.strip_prefix('/') else {
        return false;
    };
    // `<dir>($|/)`
    let under = |dir: &str| {
        rest.strip_prefix(dir)
            .is_some_and(|tail| tail.is_empty() || tail.starts_with('/'))
    };
    // `<dir>/.+($|/)`: anything strictly below `<dir>`.
    let below = |dir: &str| {
        rest.strip_prefix(dir)
            .is_some_and(|tail| tail.len() > 1 && tail.starts_with('/'))
    };
    ["dev", "proc", "run", "sys", "mnt", "media"]
        .into_iter()
        .any(under)
        || below("var/lib/docker")
        || below("var/lib/containers/storage")
}

/// node_exporter's default file system type exclusion.
pub(crate) fn fs_type_excluded(fs_type: &str) -> bool {
    matches!(
        fs_type,
        "autofs"
            | "binfmt_misc"
            | "bpf"
            | "cgroup"
            | "cgroup2"
            | "configfs"
            | "debugfs"
            | "devpts"
            | "devtmpfs"
            | "fusectl"
            | "hugetlbfs"
            | "iso9660"
            | "mqueue"
            | "nsfs"
            | "overlay"
            | "proc"
            | "procfs"
            | "pstore"
            | "rpc_pipefs"
            | "securityfs"
            | "selinuxfs"
            | "squashfs"
            | "sysfs"
            | "tracefs"
    )
}

/// One line of `/proc/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount<'a> {
    pub device: &'a str,
    pub mount_point: Cow<'a, str>,
    pub fs_type: &'a str,
    pub options: &'a str,
}

impl Mount<'_> {
    pub(crate) fn read_only(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
    }
}

/// Parses a mounts line; the mount point's `\040` and `\011` escapes are undone as in
/// node_exporter (it leaves the other octal escapes as written).
pub(crate) fn parse_mount(line: &str) -> Option<Mount<'_>> {
    let mut fields = line.split_ascii_whitespace();
    let device = fields.next()?;
    let mount_point = fields.next()?;
    let fs_type = fields.next()?;
    let options = fields.next()?;
    let mount_point = if mount_point.contains('\\') {
        Cow::Owned(mount_point.replace("\\040", " ").replace("\\011", "\t"))
    } else {
        Cow::Borrowed(mount_point)
    };
    Some(Mount {
        device,
        mount_point,
        fs_type,
        options,
    })
}

/// Removes the root path from a mount point as node_exporter's `rootfsStripPrefix` does: a plain
/// string prefix, and `/` when nothing is left.
fn strip_root<'a>(mount_point: Cow<'a, str>, root: &str) -> Cow<'a, str> {
    if root == "/" {
        return mount_point;
    }
    match mount_point.strip_prefix(root) {
        Some("") => Cow::Borrowed("/"),
        Some(rest) => Cow::Owned(rest.to_owned()),
        None => mount_point,
    }
}

/// What one `statfs` gave.
#[derive(Debug)]
enum Outcome {
    Stats(FsStats),
    Failed,
}

type Reply = io::Result<FsStats>;

/// `statfs` itself, replaceable so tests can simulate a hung mount.
type StatFn = fn(&CStr) -> io::Result<FsStats>;

/// The helper thread's end of the channels: it `statfs`es the paths of each batch from the
/// given index on and answers one reply per path, in order.
#[derive(Debug)]
struct Worker {
    requests: Sender<(Arc<[CString]>, usize)>,
    replies: Receiver<Reply>,
}

impl Worker {
    fn spawn(stat: StatFn, stuck: Arc<Mutex<HashSet<CString>>>) -> io::Result<Self> {
        let (requests, request_rx) = mpsc::channel::<(Arc<[CString]>, usize)>();
        let (reply_tx, replies) = mpsc::channel();
        std::thread::Builder::new()
            .name("hostmetrics-statfs".to_owned())
            .spawn(move || {
                while let Ok((paths, from)) = request_rx.recv() {
                    for path in paths.iter().skip(from) {
                        let reply = stat(path);
                        // It answered: if it had been given up on, it may be tried again.
                        if let Ok(mut stuck) = stuck.lock()
                            && !stuck.is_empty()
                        {
                            stuck.remove(path);
                        }
                        if reply_tx.send(reply).is_err() {
                            // The collector gave up on this thread (or is gone).
                            return;
                        }
                    }
                }
            })?;
        Ok(Self { requests, replies })
    }
}

#[derive(Debug)]
pub(crate) struct FsState {
    root: String,
    timeout: Duration,
    stat: StatFn,
    worker: Option<Worker>,
    /// `statfs` paths whose call is still pending on an abandoned thread.
    stuck: Arc<Mutex<HashSet<CString>>>,
}

impl FsState {
    pub(crate) fn new(root: &Path, timeout: Duration) -> Self {
        let root = root.to_string_lossy();
        let trimmed = root.trim_end_matches('/');
        Self {
            root: if trimmed.is_empty() {
                "/".to_owned()
            } else {
                trimmed.to_owned()
            },
            timeout,
            stat: sys::statfs,
            worker: None,
            stuck: Arc::default(),
        }
    }

    /// Where to `statfs` a (root-stripped) mount point: under the root path.
    fn stat_path(&self, mount_point: &str) -> Option<CString> {
        let joined = if self.root == "/" {
            mount_point.to_owned()
        } else {
            format!("{}{}", self.root, mount_point)
        };
        CString::new(joined).ok()
    }

    fn is_stuck(&self, path: &CString) -> bool {
        self.stuck.lock().map(|s| s.contains(path)).unwrap_or(false)
    }

    /// `statfs`es every path in order, giving each at most the timeout. The first path that
    /// times out is marked stuck and the rest count as failed for this collection without
    /// waiting, so one collection waits for at most one timeout however many mounts hang (each
    /// later collection finds at most one more).
    fn stat_all(&mut self, paths: Arc<[CString]>) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(paths.len());
        let worker = match self.worker.take() {
            Some(worker) => worker,
            None => match Worker::spawn(self.stat, Arc::clone(&self.stuck)) {
                Ok(worker) => worker,
                Err(_) => {
                    // No thread to be had: call statfs here and hope for the best.
                    outcomes.extend(paths.iter().map(|p| match (self.stat)(p) {
                        Ok(stats) => Outcome::Stats(stats),
                        Err(_) => Outcome::Failed,
                    }));
                    return outcomes;
                }
            },
        };
        let mut healthy = worker.requests.send((Arc::clone(&paths), 0)).is_ok();
        while healthy && outcomes.len() < paths.len() {
            match worker.replies.recv_timeout(self.timeout) {
                Ok(Ok(stats)) => outcomes.push(Outcome::Stats(stats)),
                Ok(Err(_)) => outcomes.push(Outcome::Failed),
                Err(RecvTimeoutError::Timeout) => {
                    if let (Some(path), Ok(mut stuck)) = (paths.get(outcomes.len()), self.stuck.lock()) {
                        stuck.insert(path.clone());
                    }
                    healthy = false;
                }
                // The thread is gone (it cannot panic, but a next collection starts another).
                Err(RecvTimeoutError::Disconnected) => healthy = false,
            }
        }
        if healthy {
            self.worker = Some(worker);
        }
        outcomes.resize_with(paths.len(), || Outcome::Failed);
        outcomes
    }

    pub(crate) fn collect(&mut self, mounts: &[u8], out: &mut Vec<Family>) {
        // Mount points that pass the filters, each (device, mount point, type) once.
        let mut kept: Vec<Mount<'_>> = Vec::new();
        let mut seen: HashSet<(&str, String, &str)> = HashSet::new();
        for mount in lines(mounts).filter_map(parse_mount) {
            let mount = Mount {
                mount_point: strip_root(mount.mount_point, &self.root),
                ..mount
            };
            if mount_point_excluded(&mount.mount_point) || fs_type_excluded(mount.fs_type) {
                continue;
            }
            if seen.insert((mount.device, mount.mount_point.to_string(), mount.fs_type)) {
                kept.push(mount);
            }
        }

        // Paths to stat, leaving out the stuck ones and those no C string can name.
        let mut to_stat: Vec<CString> = Vec::with_capacity(kept.len());
        let mut plan: Vec<Option<usize>> = Vec::with_capacity(kept.len());
        for mount in &kept {
            match self.stat_path(&mount.mount_point) {
                Some(path) if !self.is_stuck(&path) => {
                    plan.push(Some(to_stat.len()));
                    to_stat.push(path);
                }
                _ => plan.push(None),
            }
        }
        let outcomes = if to_stat.is_empty() {
            Vec::new()
        } else {
            self.stat_all(to_stat.into())
        };

        use MetricType::Gauge;
        let mut device_error = Family::new(
            "node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device.",
            Gauge,
        );
        let mut size = Family::new("node_filesystem_size_bytes", "Filesystem size in bytes.", Gauge);
        let mut free = Family::new(
            "node_filesystem_free_bytes",
            "Filesystem free space in bytes.",
            Gauge,
        );
        let mut avail = Family::new(
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.",
            Gauge,
        );
        let mut files = Family::new("node_filesystem_files", "Filesystem total file nodes.", Gauge);
        let mut files_free = Family::new(
            "node_filesystem_files_free",
            "Filesystem total free file nodes.",
            Gauge,
        );
        let mut readonly = Family::new("node_filesystem_readonly", "Filesystem read-only status.", Gauge);

        for (mount, step) in kept.iter().zip(plan) {
            let labels = || {
                vec![
                    ("device", mount.device.to_owned()),
                    ("fstype", mount.fs_type.to_owned()),
                    ("mountpoint", mount.mount_point.to_string()),
                ]
            };
            let stats = match step.and_then(|i| outcomes.get(i)) {
                Some(Outcome::Stats(stats)) => stats,
                _ => {
                    // node_exporter 1.5 reports nothing else for such a mount point.
                    device_error.push(labels(), 1.0);
                    continue;
                }
            };
            device_error.push(labels(), 0.0);
            // Go multiplies in float64; so do we, for identical values.
            let bsize = stats.bsize as f64;
            size.push(labels(), stats.blocks as f64 * bsize);
            free.push(labels(), stats.bfree as f64 * bsize);
            avail.push(labels(), stats.bavail as f64 * bsize);
            files.push(labels(), stats.files as f64);
            files_free.push(labels(), stats.ffree as f64);
            readonly.push(labels(), if mount.read_only() { 1.0 } else { 0.0 });
        }
        out.extend([device_error, size, free, avail, files, files_free, readonly]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTS: &str = "\
proc /proc proc rw,relatime 0 0
sysfs /sys sysfs rw,relatime 0 0
/dev/vda / ext4 rw,relatime,discard 0 0
tmpfs /dev/shm tmpfs rw,relatime,size=24684096k 0 0
tmpfs /run tmpfs rw,nosuid 0 0
/dev/vdb /srv/my\\040data xfs ro,noatime 0 0
/dev/vdb /srv/my\\040data xfs rw,noatime 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw 0 0
tmpfs /tmp tmpfs rw 0 0
truncated line
";

    #[test]
    fn mounts_lines() {
        let parsed: Vec<_> = lines(MOUNTS.as_bytes()).filter_map(parse_mount).collect();
        assert_eq!(parsed.len(), 9);
        assert_eq!(parsed[5].mount_point, "/srv/my data");
        assert!(parsed[5].read_only());
        assert!(!parsed[2].read_only());
        assert_eq!(
            parse_mount("a /x\\011y\\012 t ro").unwrap().mount_point,
            "/x\ty\\012"
        );
    }

    #[test]
    fn mount_point_exclusion_matches_the_regex() {
        for mp in [
            "/dev",
            "/dev/shm",
            "/proc",
            "/run",
            "/run/user/1000",
            "/sys/fs/cgroup",
            "/mnt",
            "/mnt/usb",
            "/media/cd",
            "/var/lib/docker/overlay2/x",
            "/var/lib/docker/x",
            "/var/lib/containers/storage/o",
        ] {
            assert!(mount_point_excluded(mp), "{mp}");
        }
        for mp in [
            "/",
            "/devices",
            "/home",
            "/running",
            "/var/lib/docker",
            "/var/lib/docker/",
            "/var/lib/dockerx/y",
            "/srv/dev",
            "dev",
        ] {
            assert!(!mount_point_excluded(mp), "{mp}");
        }
    }

    #[test]
    fn fs_type_exclusion() {
        assert!(fs_type_excluded("cgroup2"));
        assert!(fs_type_excluded("overlay"));
        assert!(!fs_type_excluded("ext4"));
        assert!(!fs_type_excluded("tmpfs"));
        assert!(!fs_type_excluded("cgroup3"));
    }

    #[test]
    fn root_prefix() {
        assert_eq!(strip_root(Cow::Borrowed("/host/srv"), "/host"), "/srv");
        assert_eq!(strip_root(Cow::Borrowed("/host"), "/host"), "/");
        assert_eq!(strip_root(Cow::Borrowed("/other"), "/host"), "/other");
        assert_eq!(strip_root(Cow::Borrowed("/srv"), "/"), "/srv");
        let state = FsState::new(Path::new("/host/"), Duration::from_secs(1));
        assert_eq!(state.stat_path("/srv").unwrap().as_bytes(), b"/host/srv");
    }

    #[test]
    fn families_with_real_statfs() {
        let mut state = FsState::new(Path::new("/"), Duration::from_secs(5));
        let mut out = Vec::new();
        let mounts = format!("{MOUNTS}/dev/missing /nonexistent/hostmetrics ext4 rw 0 0\n");
        state.collect(mounts.as_bytes(), &mut out);
        let family = |name: &str| out.iter().find(|f| f.name == name).unwrap();
        let errors: Vec<(String, f64)> = family("node_filesystem_device_error")
            .samples
            .iter()
            .map(|s| (s.labels[2].1.clone(), s.value))
            .collect();
        // The duplicate /srv mount is reported once, and it does not exist here.
        assert_eq!(
            errors,
            [
                ("/".to_owned(), 0.0),
                ("/srv/my data".to_owned(), 1.0),
                ("/tmp".to_owned(), 0.0),
                ("/nonexistent/hostmetrics".to_owned(), 1.0),
            ]
        );
        let size = family("node_filesystem_size_bytes");
        assert_eq!(size.samples.len(), 2);
        assert_eq!(
            size.samples[0].labels,
            [
                ("device", "/dev/vda".to_owned()),
                ("fstype", "ext4".to_owned()),
                ("mountpoint", "/".to_owned())
            ]
        );
        assert!(size.samples[0].value > 0.0);
        assert_eq!(family("node_filesystem_readonly").samples.len(), 2);
        // The helper thread is reused.
        assert!(state.worker.is_some());
        state.collect(mounts.as_bytes(), &mut out);
    }

    /// statfs of `/` that first hangs for a second on paths containing "hang".
    fn slow_statfs(path: &CStr) -> io::Result<FsStats> {
        if path.to_bytes().windows(4).any(|w| w == b"hang") {
            std::thread::sleep(Duration::from_millis(1000));
        }
        sys::statfs(c"/")
    }

    fn quick_statfs(_: &CStr) -> io::Result<FsStats> {
        sys::statfs(c"/")
    }

    fn device_errors(state: &mut FsState, mounts: &str) -> Vec<f64> {
        let mut out = Vec::new();
        state.collect(mounts.as_bytes(), &mut out);
        let errors = out
            .iter()
            .find(|f| f.name == "node_filesystem_device_error")
            .unwrap();
        errors.samples.iter().map(|s| s.value).collect()
    }

    #[test]
    fn a_hung_mount_is_given_up_on_and_retried_once_it_answers() {
        let mut state = FsState::new(Path::new("/"), Duration::from_millis(100));
        state.stat = slow_statfs;
        let mounts = "a / ext4 rw 0 0\nb /hang1 nfs rw 0 0\nc /srv ext4 rw 0 0\nd /hang2 nfs rw 0 0\n";
        // First collection: /hang1 times out; /srv and /hang2 are not waited for.
        let start = std::time::Instant::now();
        assert_eq!(device_errors(&mut state, mounts), [0.0, 1.0, 1.0, 1.0]);
        assert!(
            start.elapsed() < Duration::from_millis(800),
            "{:?}",
            start.elapsed()
        );
        // Second: /hang1 is skipped while its statfs is pending; /hang2 is found hung in turn.
        let start = std::time::Instant::now();
        assert_eq!(device_errors(&mut state, mounts), [0.0, 1.0, 0.0, 1.0]);
        assert!(
            start.elapsed() < Duration::from_millis(800),
            "{:?}",
            start.elapsed()
        );
        // Once both have answered they are asked again.
        std::thread::sleep(Duration::from_millis(1500));
        assert!(state.stuck.lock().unwrap().is_empty());
        state.stat = quick_statfs;
        state.worker = None;
        assert_eq!(device_errors(&mut state, mounts), [0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn timeouts_give_device_errors_not_hangs() {
        // With no time at all to answer, some statfs calls are given up on; whatever happens,
        // every mount point still gets its device_error sample.
        let mut state = FsState::new(Path::new("/"), Duration::ZERO);
        for _ in 0..3 {
            let mut out = Vec::new();
            state.collect(MOUNTS.as_bytes(), &mut out);
            let errors = out
                .iter()
                .find(|f| f.name == "node_filesystem_device_error")
                .unwrap();
            assert_eq!(errors.samples.len(), 3);
        }
    }
}
