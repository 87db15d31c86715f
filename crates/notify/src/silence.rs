//! Alertmanager's silences: validation, the create-or-update rules (`Silences.Set`/`canUpdate`),
//! expiry, the API's `filter`, muting and garbage collection. The whole set lives in one JSON file
//! that is replaced atomically before any change is acknowledged; silences are few and written by
//! people, so a rewrite per change is cheap. The caller passes the time (Unix ms) in.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::matchers::{LabelSet, Matcher, matches_all};
use crate::persist;

/// Alertmanager's `--data.retention` default (120h): how long an ended silence is kept.
pub const DEFAULT_RETENTION_MS: i64 = 120 * 3600 * 1000;

/// The silences file format this build writes (and the newest it reads).
const FORMAT_VERSION: u32 = 1;

/// Where a silence is in its life at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SilenceState {
    Expired,
    Active,
    Pending,
}

impl SilenceState {
    /// `"expired"`, `"active"` or `"pending"`, as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Expired => "expired",
            SilenceState::Active => "active",
            SilenceState::Pending => "pending",
        }
    }
}

/// One silence. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// Empty when creating; a UUID v4 once stored.
    pub id: String,
    #[serde(with = "matcher_list")]
    pub matchers: Vec<Matcher>,
    /// 0 when creating means "now".
    pub starts_at: i64,
    pub ends_at: i64,
    /// Set by the store on every change; ignored on input.
    pub updated_at: i64,
    pub created_by: String,
    pub comment: String,
}

impl Silence {
    /// Pending before its start, active until its end, expired from its end on (Alertmanager's
    /// `types.CalcSilenceState`), so a silence expired at `now` no longer mutes at `now`.
    pub fn state(&self, now: i64) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now < self.ends_at {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    /// Whether every matcher holds for `labels`.
    pub fn matches(&self, labels: &LabelSet) -> bool {
        !self.matchers.is_empty() && matches_all(&self.matchers, labels)
    }
}

/// Matchers as `{"name": …, "value": …, "op": "=~"}` objects.
mod matcher_list {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::matchers::{MatchOp, Matcher};

    #[derive(Serialize, Deserialize)]
    struct Stored {
        name: String,
        value: String,
        op: String,
    }

    pub(super) fn serialize<S: Serializer>(ms: &[Matcher], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(ms.len()))?;
        for m in ms {
            seq.serialize_element(&Stored {
                name: m.name.clone(),
                value: m.value.clone(),
                op: m.op.as_str().to_string(),
            })?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Matcher>, D::Error> {
        let stored = Vec::<Stored>::deserialize(d)?;
        stored
            .into_iter()
            .map(|m| {
                let op = match m.op.as_str() {
                    "=" => MatchOp::Equal,
                    "!=" => MatchOp::NotEqual,
                    "=~" => MatchOp::Regex,
                    "!~" => MatchOp::NotRegex,
                    other => {
                        return Err(serde::de::Error::custom(format!(
                            "unknown matcher op {other:?} for label {:?}",
                            m.name
                        )));
                    }
                };
                Matcher::new(m.name, op, m.value).map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

/// A silence with the time after which garbage collection drops it (`MeshSilence.ExpiresAt`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    silence: Silence,
    expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    silences: Vec<Stored>,
}

struct Inner {
    st: BTreeMap<String, Stored>,
    version: u64,
}

/// The silence store. Every method takes `&self`; a change is on disk before it returns.
pub struct Silences {
    path: PathBuf,
    retention_ms: i64,
    inner: Mutex<Inner>,
}

impl Silences {
    /// Opens the store kept in `path`, loading it if it exists. `retention_ms` is how long an
    /// ended silence is kept before [`Silences::gc`] drops it ([`DEFAULT_RETENTION_MS`]).
    pub fn open(path: &Path, retention_ms: i64) -> Result<Silences> {
        let mut st = BTreeMap::new();
        if let Some(bytes) = persist::read_if_exists(path)? {
            let file: FileFormat = persist::from_json(&bytes, path)?;
            persist::check_version(file.version, FORMAT_VERSION, path)?;
            for s in file.silences {
                if s.silence.id.is_empty() {
                    return Err(persist::corrupt(path, "silence without an id"));
                }
                st.insert(s.silence.id.clone(), s);
            }
        }
        Ok(Silences {
            path: path.to_path_buf(),
            retention_ms,
            inner: Mutex::new(Inner { st, version: 1 }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied change: the map is only
        // replaced after the file is written.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn persist(&self, st: &BTreeMap<String, Stored>) -> Result<()> {
        let file = FileFormat {
            version: FORMAT_VERSION,
            silences: st.values().cloned().collect(),
        };
        let bytes = persist::to_json(&file, &self.path)?;
        persist::write_atomic(&self.path, &bytes)
    }

    fn stored(&self, silence: Silence) -> Stored {
        let expires_at = silence.ends_at.saturating_add(self.retention_ms);
        Stored { silence, expires_at }
    }

    /// Creates a silence (empty `id`) or changes one, with Alertmanager's rules: the API's checks
    /// (`comment` and `createdBy` present, start before end, end not in the past), then
    /// `validateSilence`; an existing silence is changed in place only when `canUpdate` allows
    /// it (same matchers; if active, same start second and an end not in the past; if pending, a
    /// start not in the past). Otherwise a new silence with a new id is created, starting no
    /// earlier than `now`, and the old one is expired unless it already was. Returns the id.
    pub fn set(&self, silence: Silence, now: i64) -> Result<String> {
        let mut sil = silence;
        validate_api(&sil, now)?;
        if sil.starts_at == 0 {
            sil.starts_at = now;
        }
        validate_silence(&sil).map_err(|e| Error::InvalidSilence(format!("invalid silence: {e}")))?;

        let mut g = self.lock();
        let prev = if sil.id.is_empty() {
            None
        } else {
            match g.st.get(&sil.id) {
                Some(s) => Some(s.silence.clone()),
                None => return Err(Error::SilenceNotFound(sil.id)),
            }
        };
        let mut next = g.st.clone();

        if let Some(prev) = &prev
            && can_update(prev, &sil, now)
        {
            sil.updated_at = now;
            let id = sil.id.clone();
            next.insert(id.clone(), self.stored(sil));
            self.persist(&next)?;
            g.st = next;
            return Ok(id);
        }

        sil.id = new_uuid()?;
        if sil.starts_at < now {
            sil.starts_at = now;
        }
        sil.updated_at = now;
        if let Some(prev) = prev
            && prev.state(now) != SilenceState::Expired
        {
            // Keep the history: the old silence ends now rather than changing what it covered.
            let expired = self.stored(expired_at(prev, now));
            next.insert(expired.silence.id.clone(), expired);
        }
        let id = sil.id.clone();
        next.insert(id.clone(), self.stored(sil));
        self.persist(&next)?;
        g.st = next;
        g.version += 1;
        Ok(id)
    }

    /// Ends a silence now: an active one gets `ends_at = now`, a pending one both times `now`.
    /// Unknown ids and silences that already ended are errors, as in Alertmanager 0.25–0.27.
    pub fn expire(&self, id: &str, now: i64) -> Result<()> {
        let mut g = self.lock();
        let Some(cur) = g.st.get(id) else {
            return Err(Error::SilenceNotFound(id.to_string()));
        };
        if cur.silence.state(now) == SilenceState::Expired {
            return Err(Error::SilenceExpired(id.to_string()));
        }
        let expired = self.stored(expired_at(cur.silence.clone(), now));
        let mut next = g.st.clone();
        next.insert(id.to_string(), expired);
        self.persist(&next)?;
        g.st = next;
        Ok(())
    }

    /// The silence with this id, in any state.
    pub fn get(&self, id: &str) -> Option<Silence> {
        self.lock().st.get(id).map(|s| s.silence.clone())
    }

    /// The API's `GET /silences?filter=…`: silences that contain, for every filter matcher, a
    /// matcher with the same name, operator and value (`CheckSilenceMatchesFilterLabels`), in the
    /// API's order: active (soonest end first), pending (soonest start first), expired (latest
    /// end first). An empty filter lists every silence.
    pub fn query(&self, filter: &[Matcher], now: i64) -> Vec<Silence> {
        let g = self.lock();
        let mut out: Vec<Silence> =
            g.st.values()
                .filter(|s| filter.iter().all(|f| s.silence.matchers.contains(f)))
                .map(|s| s.silence.clone())
                .collect();
        sort_for_api(&mut out, now);
        out
    }

    /// Ids (sorted) of the silences active at `now` whose matchers all hold for `labels`.
    pub fn mutes(&self, labels: &LabelSet, now: i64) -> Vec<String> {
        self.lock()
            .st
            .values()
            .filter(|s| s.silence.state(now) == SilenceState::Active && s.silence.matches(labels))
            .map(|s| s.silence.id.clone())
            .collect()
    }

    /// Drops silences that ended more than the retention ago; returns how many.
    pub fn gc(&self, now: i64) -> Result<usize> {
        let mut g = self.lock();
        let next: BTreeMap<String, Stored> =
            g.st.iter()
                .filter(|(_, s)| s.expires_at > now)
                .map(|(k, s)| (k.clone(), s.clone()))
                .collect();
        let removed = g.st.len() - next.len();
        if removed > 0 {
            self.persist(&next)?;
            g.st = next;
            g.version += 1;
        }
        Ok(removed)
    }

    /// Goes up whenever a silence is added or dropped (not when one is updated in place or
    /// expired), so a caller can cache which silences apply to an alert, as Alertmanager's marker
    /// does.
    pub fn version(&self) -> u64 {
        self.lock().version
    }

    /// How many silences are stored, in every state.
    pub fn len(&self) -> usize {
        self.lock().st.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn expired_at(mut sil: Silence, now: i64) -> Silence {
    match sil.state(now) {
        SilenceState::Active => sil.ends_at = now,
        SilenceState::Pending => {
            sil.starts_at = now;
            sil.ends_at = now;
        }
        SilenceState::Expired => return sil,
    }
    sil.updated_at = now;
    sil
}

/// What `POST /api/v2/silences` refuses before it reaches the store: the OpenAPI schema's required
/// strings (go-swagger refuses an empty one), then the handler's two time checks.
fn validate_api(s: &Silence, now: i64) -> Result<()> {
    if s.comment.is_empty() {
        return Err(Error::InvalidSilence("comment in body is required".into()));
    }
    if s.created_by.is_empty() {
        return Err(Error::InvalidSilence("createdBy in body is required".into()));
    }
    if s.starts_at >= s.ends_at {
        return Err(Error::InvalidSilence("start time must be before end time".into()));
    }
    if s.ends_at < now {
        return Err(Error::InvalidSilence("end time can't be in the past".into()));
    }
    Ok(())
}

/// Alertmanager's `validateSilence`, without its prefix.
fn validate_silence(s: &Silence) -> std::result::Result<(), String> {
    if s.matchers.is_empty() {
        return Err("at least one matcher required".into());
    }
    let mut all_match_empty = true;
    for (i, m) in s.matchers.iter().enumerate() {
        // Alertmanager 0.27 validates names as UTF-8 label names unless in classic mode: any
        // non-empty string. Values are Rust strings, so always valid UTF-8, and regexes compiled
        // when the matcher was built.
        if m.name.is_empty() {
            return Err(format!(
                "invalid label matcher {i}: invalid label name {:?}",
                m.name
            ));
        }
        all_match_empty &= matches_empty(m);
    }
    if all_match_empty {
        return Err("at least one matcher must not match the empty string".into());
    }
    if s.starts_at == 0 {
        return Err("invalid zero start timestamp".into());
    }
    if s.ends_at == 0 {
        return Err("invalid zero end timestamp".into());
    }
    if s.ends_at < s.starts_at {
        return Err("end time must not be before start time".into());
    }
    Ok(())
}

/// Alertmanager's `matchesEmpty`: only `=""` and a regex that matches the empty string count;
/// negative matchers never do, even `foo!="bar"`.
fn matches_empty(m: &Matcher) -> bool {
    use crate::matchers::MatchOp;
    match m.op {
        MatchOp::Equal => m.value.is_empty(),
        MatchOp::Regex => m.matches_value(""),
        MatchOp::NotEqual | MatchOp::NotRegex => false,
    }
}

/// Alertmanager's `canUpdate`: whether `a` can become `b` without rewriting history.
fn can_update(a: &Silence, b: &Silence, now: i64) -> bool {
    if a.matchers != b.matchers {
        return false;
    }
    match a.state(now) {
        // Go compares `StartsAt.Unix()`: whole seconds, rounded down.
        SilenceState::Active => {
            b.starts_at.div_euclid(1000) == a.starts_at.div_euclid(1000) && b.ends_at >= now
        }
        SilenceState::Pending => b.starts_at >= now,
        SilenceState::Expired => false,
    }
}

fn sort_for_api(sils: &mut [Silence], now: i64) {
    fn rank(s: SilenceState) -> u8 {
        match s {
            SilenceState::Active => 1,
            SilenceState::Pending => 2,
            SilenceState::Expired => 3,
        }
    }
    sils.sort_by(|a, b| {
        let (sa, sb) = (a.state(now), b.state(now));
        rank(sa).cmp(&rank(sb)).then_with(|| match sa {
            SilenceState::Active => a.ends_at.cmp(&b.ends_at),
            SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
            SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
        })
    });
}

/// A random (version 4) UUID from the kernel's generator, as `gofrs/uuid.NewV4` makes them.
fn new_uuid() -> Result<String> {
    let src = Path::new("/dev/urandom");
    let mut b = [0u8; 16];
    File::open(src)
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| persist::io_err("read", src, &e))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::MatchOp;

    const NOW: i64 = 1_700_000_000_000;
    const H: i64 = 3_600_000;

    fn m(name: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher::new(name, op, value).unwrap()
    }

    fn sil(matchers: Vec<Matcher>, start: i64, end: i64) -> Silence {
        Silence {
            id: String::new(),
            matchers,
            starts_at: start,
            ends_at: end,
            updated_at: 0,
            created_by: "me".into(),
            comment: "maintenance".into(),
        }
    }

    fn store() -> (tempfile::TempDir, Silences) {
        let dir = tempfile::tempdir().unwrap();
        let s = Silences::open(&dir.path().join("silences.json"), DEFAULT_RETENTION_MS).unwrap();
        (dir, s)
    }

    fn ls(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn err(r: Result<String>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn state_boundaries() {
        let s = sil(vec![m("a", MatchOp::Equal, "b")], 100, 200);
        assert_eq!(s.state(99), SilenceState::Pending);
        assert_eq!(s.state(100), SilenceState::Active);
        assert_eq!(s.state(199), SilenceState::Active);
        assert_eq!(s.state(200), SilenceState::Expired);
    }

    #[test]
    fn uuid_is_version_4() {
        let u = new_uuid().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(u, new_uuid().unwrap());
    }

    #[test]
    fn validation_messages() {
        let (_d, s) = store();
        let ok = vec![m("job", MatchOp::Equal, "x")];
        let mut c = sil(ok.clone(), NOW, NOW + H);
        c.comment.clear();
        assert_eq!(err(s.set(c, NOW)), "comment in body is required");
        let mut c = sil(ok.clone(), NOW, NOW + H);
        c.created_by.clear();
        assert_eq!(err(s.set(c, NOW)), "createdBy in body is required");
        assert_eq!(
            err(s.set(sil(ok.clone(), NOW + H, NOW + H), NOW)),
            "start time must be before end time"
        );
        assert_eq!(
            err(s.set(sil(ok.clone(), NOW - 2 * H, NOW - H), NOW)),
            "end time can't be in the past"
        );
        assert_eq!(
            err(s.set(sil(vec![], NOW, NOW + H), NOW)),
            "invalid silence: at least one matcher required"
        );
        let empties = vec![
            m("a", MatchOp::Equal, ""),
            m("b", MatchOp::Regex, ".*"),
            m("c", MatchOp::Regex, "x|"),
        ];
        assert_eq!(
            err(s.set(sil(empties, NOW, NOW + H), NOW)),
            "invalid silence: at least one matcher must not match the empty string"
        );
        // A negative matcher never counts as matching the empty string.
        s.set(sil(vec![m("a", MatchOp::NotEqual, "x")], NOW, NOW + H), NOW)
            .unwrap();
        assert_eq!(
            err(s.set(sil(vec![m("", MatchOp::Equal, "x")], NOW, NOW + H), NOW)),
            "invalid silence: invalid label matcher 0: invalid label name \"\""
        );
        let mut unknown = sil(ok, NOW, NOW + H);
        unknown.id = "nope".into();
        assert_eq!(err(s.set(unknown, NOW)), "silence nope not found");
    }

    #[test]
    fn create_clamps_start_and_sets_times() {
        let (_d, s) = store();
        let id = s
            .set(sil(vec![m("job", MatchOp::Equal, "x")], NOW - H, NOW + H), NOW)
            .unwrap();
        let got = s.get(&id).unwrap();
        assert_eq!(got.starts_at, NOW);
        assert_eq!(got.updated_at, NOW);
        // A start of 0 means now.
        let id = s
            .set(sil(vec![m("job", MatchOp::Equal, "y")], 0, NOW + H), NOW)
            .unwrap();
        assert_eq!(s.get(&id).unwrap().starts_at, NOW);
    }

    #[test]
    fn active_update_rules() {
        let (_d, s) = store();
        let ms = vec![m("job", MatchOp::Equal, "x")];
        let id = s.set(sil(ms.clone(), NOW, NOW + H), NOW).unwrap();
        let later = NOW + 10_000;

        // Extending the end keeps the id.
        let mut u = s.get(&id).unwrap();
        u.ends_at = NOW + 2 * H;
        u.comment = "longer".into();
        assert_eq!(s.set(u, later).unwrap(), id);
        assert_eq!(s.get(&id).unwrap().ends_at, NOW + 2 * H);
        assert_eq!(s.get(&id).unwrap().updated_at, later);

        // The same start second (sub-second difference) is still the same start.
        let mut u = s.get(&id).unwrap();
        u.starts_at = NOW + 999;
        assert_eq!(s.set(u, later).unwrap(), id);

        // Moving the start of an active silence replaces it.
        let mut u = s.get(&id).unwrap();
        u.starts_at = NOW + 5_000;
        let new_id = s.set(u, later).unwrap();
        assert_ne!(new_id, id);
        assert_eq!(s.get(&id).unwrap().ends_at, later);
        assert_eq!(s.get(&id).unwrap().state(later), SilenceState::Expired);
        // The replacement starts no earlier than now.
        assert_eq!(s.get(&new_id).unwrap().starts_at, later);

        // Changing matchers replaces too.
        let mut u = s.get(&new_id).unwrap();
        u.matchers = vec![m("job", MatchOp::Equal, "y")];
        let third = s.set(u, later + 1).unwrap();
        assert_ne!(third, new_id);
        assert_eq!(s.get(&new_id).unwrap().state(later + 1), SilenceState::Expired);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn pending_update_rules() {
        let (_d, s) = store();
        let ms = vec![m("job", MatchOp::Equal, "x")];
        let id = s.set(sil(ms.clone(), NOW + H, NOW + 2 * H), NOW).unwrap();
        // A pending silence may move its start, as long as not into the past.
        let mut u = s.get(&id).unwrap();
        u.starts_at = NOW + 30 * 60_000;
        assert_eq!(s.set(u, NOW).unwrap(), id);
        let mut u = s.get(&id).unwrap();
        u.starts_at = NOW - 1;
        let new_id = s.set(u, NOW).unwrap();
        assert_ne!(new_id, id);
        // Expiring a pending silence sets both times.
        let old = s.get(&id).unwrap();
        assert_eq!((old.starts_at, old.ends_at), (NOW, NOW));
    }

    #[test]
    fn updating_an_expired_silence_creates_a_new_one() {
        let (_d, s) = store();
        let ms = vec![m("job", MatchOp::Equal, "x")];
        let id = s.set(sil(ms, NOW, NOW + H), NOW).unwrap();
        s.expire(&id, NOW + 1).unwrap();
        let mut u = s.get(&id).unwrap();
        u.ends_at = NOW + 3 * H;
        let new_id = s.set(u, NOW + 2).unwrap();
        assert_ne!(new_id, id);
        let old = s.get(&id).unwrap();
        assert_eq!(old.ends_at, NOW + 1);
        assert_eq!(old.updated_at, NOW + 1);
    }

    #[test]
    fn expire_errors() {
        let (_d, s) = store();
        assert_eq!(
            s.expire("missing", NOW).unwrap_err(),
            Error::SilenceNotFound("missing".into())
        );
        let id = s
            .set(sil(vec![m("a", MatchOp::Equal, "b")], NOW, NOW + H), NOW)
            .unwrap();
        s.expire(&id, NOW + 5).unwrap();
        assert_eq!(s.get(&id).unwrap().ends_at, NOW + 5);
        assert_eq!(
            s.expire(&id, NOW + 6).unwrap_err().to_string(),
            format!("silence {id} already expired")
        );
    }

    #[test]
    fn mutes_only_while_active() {
        let (_d, s) = store();
        let id = s
            .set(
                sil(
                    vec![
                        m("job", MatchOp::Equal, "x"),
                        m("env", MatchOp::Regex, "prod|stage"),
                    ],
                    NOW + H,
                    NOW + 2 * H,
                ),
                NOW,
            )
            .unwrap();
        let hit = ls(&[("job", "x"), ("env", "prod")]);
        let miss = ls(&[("job", "x"), ("env", "dev")]);
        assert!(s.mutes(&hit, NOW).is_empty(), "pending does not mute");
        assert_eq!(s.mutes(&hit, NOW + H), vec![id.clone()]);
        assert!(s.mutes(&miss, NOW + H).is_empty());
        assert!(s.mutes(&hit, NOW + 2 * H).is_empty(), "ended at its end");
        s.expire(&id, NOW + H + 1).unwrap();
        assert!(s.mutes(&hit, NOW + H + 1).is_empty());
    }

    #[test]
    fn query_filter_and_order() {
        let (_d, s) = store();
        let a = s
            .set(
                sil(
                    vec![m("job", MatchOp::Equal, "x"), m("env", MatchOp::Equal, "p")],
                    NOW,
                    NOW + 2 * H,
                ),
                NOW,
            )
            .unwrap();
        let b = s
            .set(sil(vec![m("job", MatchOp::Equal, "x")], NOW, NOW + H), NOW)
            .unwrap();
        let c = s
            .set(
                sil(vec![m("job", MatchOp::Equal, "x")], NOW + H, NOW + 3 * H),
                NOW,
            )
            .unwrap();
        let d = s
            .set(sil(vec![m("job", MatchOp::Regex, "x")], NOW, NOW + H), NOW)
            .unwrap();
        let ids = |v: Vec<Silence>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
        // Active by soonest end, then pending.
        assert_eq!(
            ids(s.query(&[m("job", MatchOp::Equal, "x")], NOW)),
            vec![b.clone(), a.clone(), c.clone()]
        );
        // The filter compares matchers, not label values: `job=~"x"` is not `job="x"`.
        assert_eq!(ids(s.query(&[m("job", MatchOp::Regex, "x")], NOW)), vec![d]);
        assert_eq!(
            ids(s.query(
                &[m("job", MatchOp::Equal, "x"), m("env", MatchOp::Equal, "p")],
                NOW
            )),
            vec![a.clone()]
        );
        assert_eq!(s.query(&[], NOW).len(), 4);
        // Expired ones come last, latest end first.
        s.expire(&b, NOW + 10).unwrap();
        s.expire(&a, NOW + 20).unwrap();
        let all = ids(s.query(&[m("job", MatchOp::Equal, "x")], NOW + 30));
        assert_eq!(all, vec![c, a, b]);
    }

    #[test]
    fn gc_honours_retention_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let s = Silences::open(&p, H).unwrap();
        let id = s
            .set(sil(vec![m("a", MatchOp::Equal, "b")], NOW, NOW + H), NOW)
            .unwrap();
        let v = s.version();
        assert_eq!(s.gc(NOW + 2 * H - 1).unwrap(), 0);
        assert_eq!(s.gc(NOW + 2 * H).unwrap(), 1);
        assert!(s.get(&id).is_none());
        assert!(s.version() > v);
        assert!(Silences::open(&p, H).unwrap().is_empty());
    }

    #[test]
    fn reopens_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        let s = Silences::open(&p, DEFAULT_RETENTION_MS).unwrap();
        let id = s
            .set(sil(vec![m("a", MatchOp::NotRegex, "b+")], NOW, NOW + H), NOW)
            .unwrap();
        let before = s.get(&id).unwrap();
        drop(s);
        let s = Silences::open(&p, DEFAULT_RETENTION_MS).unwrap();
        assert_eq!(s.get(&id).unwrap(), before);
        assert!(s.get(&id).unwrap().matchers[0].regex().is_some());

        std::fs::write(&p, b"{\"version\":1,\"silences\":[").unwrap();
        let e = Silences::open(&p, DEFAULT_RETENTION_MS)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("s.json"), "{e}");
        std::fs::write(&p, b"{\"version\":9,\"silences\":[]}").unwrap();
        let e = Silences::open(&p, DEFAULT_RETENTION_MS)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("unsupported format version 9"), "{e}");
    }
}
