//! Parser of Prometheus's PromQL test-script format (the `.test` files of `promql/promqltest`), into
//! plain data for a runner to execute.
//!
//! A script is a sequence of commands, each with its block of lines:
//!
//! ```text
//! # A comment: the whole line, after optional indentation.
//! load 1m
//!     http_requests{job="api"} 0+10x5 _ stale {{schema:0 sum:1 count:1}}
//!
//! eval instant at 5m sum(http_requests)
//!     expect no_warn
//!     {} 50
//!
//! eval range from 0 to 2m step 1m http_requests
//!     http_requests{job="api"} 0 10 20
//!
//! clear
//! ```
//!
//! As in Prometheus (`promql/promqltest/test.go`), a `load` or `eval` block ends at the first blank
//! *or comment* line; lines are trimmed, so indentation is free. Times are Prometheus durations
//! (`1h30m`, `10s53ms`, `0`) counted from the Unix epoch; the first point of a `load` is at time 0.
//! Queries are kept as text: parsing them is the runner's business.

mod series;
mod values;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use model::Labels;

use self::values::{Quoting, parse_duration, parse_go_number, unquote};

/// A parsed script: its commands in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    pub commands: Vec<Command>,
}

/// One command of a script.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `load <interval>` / `load_with_nhcb <interval>` and its series lines.
    Load(Load),
    /// `clear`: drop all data loaded so far.
    Clear {
        /// 1-based line of the command.
        line: usize,
    },
    /// `eval instant ...` / `eval range ...` (and the deprecated `eval_*` variants) with its
    /// expectations.
    Eval(Eval),
}

impl Command {
    /// The 1-based line the command starts on.
    pub fn line(&self) -> usize {
        match self {
            Command::Load(l) => l.line,
            Command::Clear { line } => *line,
            Command::Eval(e) => e.line,
        }
    }
}

/// `load <interval>`: adds samples; loads are additive until a `clear`.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// 1-based line of the `load` header.
    pub line: usize,
    /// Time between consecutive points of each series: point `i` is at `i * interval_ms`.
    pub interval_ms: i64,
    /// `load_with_nhcb`: classic histogram series (`_bucket` with `le`, `_count`, `_sum`) are also to be
    /// loaded converted into native histograms with custom buckets, besides the float series themselves.
    pub with_nhcb: bool,
    /// The series, in file order. A series given twice replaces its earlier definition in place
    /// (Prometheus keys them by label set), so label sets here are unique.
    pub series: Vec<SeriesSpec>,
}

/// One series line: a label set and its points, one per step.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSpec {
    /// 1-based line of the series (for a loaded series with start timestamps, of its sample line).
    pub line: usize,
    /// The labels, metric name as `__name__`. May be empty (expected results such as `{} 3`).
    pub labels: Labels,
    /// Point `i` belongs to step `i`: `i * interval` for a load, `start + i * step` for an expected
    /// range result.
    pub points: Vec<Point>,
    /// Start timestamps of loaded samples (`metric@st` lines, or a standalone `@st` default line):
    /// either empty (none given) or one entry per point, each the offset in milliseconds to add to that
    /// point's timestamp, `None` where that sample has no start timestamp. Always empty in expected
    /// results.
    pub start_offsets_ms: Vec<Option<i64>>,
}

impl SeriesSpec {
    /// True if any point is a native histogram.
    pub fn has_histograms(&self) -> bool {
        self.points.iter().any(|p| matches!(p, Point::Histogram { .. }))
    }
}

/// One step of a series.
#[derive(Debug, Clone)]
pub enum Point {
    /// A float sample. `stale` is the staleness marker, [`model::STALE_NAN_BITS`] bit-exact; `NaN`
    /// has Go's NaN bit pattern (`0x7ff8000000000001`), as in Prometheus.
    Float(f64),
    /// `_`: no sample at this step.
    Missing,
    /// A native histogram, kept as written: this crate does not interpret histogram literals.
    Histogram {
        /// The literal (shared by all points of one `{{...}}xN` or `{{a}}+{{b}}xN` item).
        spec: Arc<HistogramSpec>,
        /// Position within the item's expansion: the value is `base + index * step` (or `base` for a
        /// plain value or a repetition).
        index: u64,
    },
}

/// Points compare floats by bit pattern, so NaN payloads (staleness markers) are checked too.
impl PartialEq for Point {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Point::Float(a), Point::Float(b)) => a.to_bits() == b.to_bits(),
            (Point::Missing, Point::Missing) => true,
            (Point::Histogram { spec: a, index: i }, Point::Histogram { spec: b, index: j }) => {
                i == j && a == b
            }
            _ => false,
        }
    }
}

/// A native-histogram item of a series line, uninterpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSpec {
    /// The first value: `{{...}}`, braces included.
    pub base: String,
    /// The per-step change of `{{a}}+{{b}}xN` / `{{a}}-{{b}}xN`; `None` for a single value or `{{a}}xN`.
    pub step: Option<HistogramStep>,
}

/// The increment of a histogram expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramStep {
    /// `-`: each step subtracts `literal` instead of adding it.
    pub negative: bool,
    /// `{{...}}`, braces included.
    pub literal: String,
}

/// `eval`: run a query and check its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Eval {
    /// 1-based line of the `eval` header, for `file:line` reports.
    pub line: usize,
    /// The PromQL text, unparsed.
    pub query: String,
    /// Instant or range evaluation, with its times.
    pub kind: EvalKind,
    /// The `expect` lines in file order, plus what the deprecated `eval_fail` / `eval_warn` /
    /// `eval_info` / `eval_ordered` headers and `expected_fail_message` / `expected_fail_regexp` lines
    /// stand for. At most one [`Expect::Fail`]; never both `Warn` and `NoWarn`, nor `Info` and `NoInfo`.
    pub expects: Vec<Expect>,
    /// The result the query must produce (ignored by Prometheus when a failure is expected).
    pub expected: Expected,
}

impl Eval {
    /// The time an instant query is evaluated at: its `at` time, or the end of an
    /// `expect range vector` range, which Prometheus uses instead. `None` for range queries.
    pub fn instant_time_ms(&self) -> Option<i64> {
        match (&self.kind, &self.expected) {
            (EvalKind::Instant { .. }, Expected::RangeVector { range, .. }) => Some(range.end_ms),
            (EvalKind::Instant { at_ms }, _) => Some(*at_ms),
            (EvalKind::Range(_), _) => None,
        }
    }

    /// The failure expectation, if the query is expected to fail: `Some(None)` for any error,
    /// `Some(Some(m))` for an error whose message matches `m`.
    pub fn expected_failure(&self) -> Option<Option<&MessageMatch>> {
        self.expects.iter().find_map(|e| match e {
            Expect::Fail(m) => Some(m.as_ref()),
            _ => None,
        })
    }

    /// `expect ordered` (or `eval_ordered`): result series must come in the listed order.
    pub fn is_ordered(&self) -> bool {
        self.expects.contains(&Expect::Ordered)
    }

    /// True if any expected result point is a native histogram.
    pub fn has_histograms(&self) -> bool {
        match &self.expected {
            Expected::Series(s) | Expected::RangeVector { series: s, .. } => {
                s.iter().any(SeriesSpec::has_histograms)
            }
            Expected::Scalar(_) | Expected::String(_) => false,
        }
    }
}

/// Instant or range query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    /// `eval instant at <time> <query>`.
    Instant { at_ms: i64 },
    /// `eval range from <start> to <end> step <step> <query>`.
    Range(StepRange),
}

/// An evaluation range: steps at `start_ms`, `start_ms + step_ms`, ... up to `end_ms` inclusive.
/// `end_ms >= start_ms` is checked; `step_ms` may be 0 (the engine is expected to reject the query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRange {
    pub start_ms: i64,
    pub end_ms: i64,
    pub step_ms: i64,
}

/// One expectation about how the query behaves (besides its result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// `expect fail`, `expect fail msg: <text>`, `expect fail regex: <re>` (or `eval_fail`): the query
    /// must fail, with a matching error message if given.
    Fail(Option<MessageMatch>),
    /// `expect warn`, `expect warn msg: <text>`, `expect warn regex: <re>` (or `eval_warn`): at least
    /// one warning annotation, matching if given. Once any `Warn` is present, every warning must match
    /// one of them.
    Warn(Option<MessageMatch>),
    /// `expect info`, with optional `msg:` or `regex:` (or `eval_info`): as `Warn`, for info
    /// annotations.
    Info(Option<MessageMatch>),
    /// `expect no_warn`: no warning annotation at all.
    NoWarn,
    /// `expect no_info`: no info annotation at all.
    NoInfo,
    /// `expect ordered` (or `eval_ordered`): the vector result must list series in the given order.
    Ordered,
}

/// How an error or annotation message is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageMatch {
    /// `msg: <text>`: the whole message equals `text` (trimmed). Quotes are not stripped, exactly as in
    /// Prometheus: `msg: "x"` only matches a message that itself has the quotes.
    Exact(String),
    /// `regex: <re>`: an RE2 pattern (trimmed) that must match somewhere in the message (unanchored).
    /// Not compiled here.
    Regex(String),
}

impl MessageMatch {
    /// The text after `msg:` / `regex:`.
    pub fn text(&self) -> &str {
        match self {
            MessageMatch::Exact(s) | MessageMatch::Regex(s) => s,
        }
    }
}

/// The expected result of an `eval`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Series lines (possibly none: an empty result, or a query expected to fail). For an instant query
    /// each has exactly one point (the vector sample); for a range query point `i` is at
    /// `start + i * step`, with `_` for steps without a sample. Floats are compared by Prometheus with
    /// a relative tolerance of 1e-6 (`almost.Equal`), NaN equal to NaN.
    Series(Vec<SeriesSpec>),
    /// `expect range vector from <a> to <b> step <c>` on an instant query (a range-vector result):
    /// series whose point `i` is at `range.start_ms + i * range.step_ms`. Prometheus evaluates such a
    /// query at `range.end_ms` (see [`Eval::instant_time_ms`]) and does not re-check it as a range query.
    RangeVector {
        range: StepRange,
        series: Vec<SeriesSpec>,
    },
    /// A bare number line: a scalar result.
    Scalar(f64),
    /// `expect string "<s>"`: a string result (Go string-literal syntax, unquoted here). Prometheus
    /// does not re-check it as a range query.
    String(String),
}

/// Why a script does not parse. Every variant names the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("line {line}: unknown command {text:?}")]
    UnknownCommand { line: usize, text: String },
    #[error("line {line}: invalid {command} command: {reason}")]
    InvalidCommand {
        line: usize,
        command: &'static str,
        reason: String,
    },
    #[error("line {line}: invalid {what} {text:?}: {reason}")]
    InvalidDuration {
        line: usize,
        what: &'static str,
        text: String,
        reason: String,
    },
    #[error("line {line}: invalid series: {reason}")]
    InvalidSeries { line: usize, reason: String },
    #[error("line {line}: invalid labels: {source}")]
    InvalidLabels { line: usize, source: model::Error },
    #[error("line {line}: invalid expect line: {reason}")]
    InvalidExpect { line: usize, reason: String },
    #[error("line {line}: invalid expected result: {reason}")]
    InvalidResult { line: usize, reason: String },
}

impl ScriptError {
    /// The 1-based line the error is on.
    pub fn line(&self) -> usize {
        match self {
            ScriptError::UnknownCommand { line, .. }
            | ScriptError::InvalidCommand { line, .. }
            | ScriptError::InvalidDuration { line, .. }
            | ScriptError::InvalidSeries { line, .. }
            | ScriptError::InvalidLabels { line, .. }
            | ScriptError::InvalidExpect { line, .. }
            | ScriptError::InvalidResult { line, .. } => *line,
        }
    }
}

/// Parses a whole script.
pub fn parse(text: &str) -> Result<Script, ScriptError> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') { "" } else { l }
        })
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let line = i + 1;
        if l.is_empty() {
            i += 1;
            continue;
        }
        let (word, rest) = split_word(l);
        if word.eq_ignore_ascii_case("clear") {
            if !rest.is_empty() {
                return Err(invalid_command(line, "clear", format!("unexpected {rest:?}")));
            }
            commands.push(Command::Clear { line });
            i += 1;
        } else if word == "load" || word == "load_with_nhcb" {
            let body = block(&lines, i + 1);
            commands.push(Command::Load(parse_load(
                word,
                rest,
                line,
                &lines[i + 1..i + 1 + body],
            )?));
            i += 1 + body;
        } else if word.starts_with("eval") {
            let body = block(&lines, i + 1);
            let (eval, used) = parse_eval(word, rest, line, &lines[i + 1..i + 1 + body])?;
            commands.push(Command::Eval(eval));
            i += 1 + used;
        } else {
            return Err(ScriptError::UnknownCommand {
                line,
                text: l.to_owned(),
            });
        }
    }
    Ok(Script { commands })
}

/// The number of lines of the block starting at `from`: up to the next empty (or comment) line.
fn block(lines: &[&str], from: usize) -> usize {
    lines[from.min(lines.len())..]
        .iter()
        .take_while(|l| !l.is_empty())
        .count()
}

/// Splits off the first word (ASCII whitespace, as Go's `\s`); the rest is trimmed at the start.
fn split_word(s: &str) -> (&str, &str) {
    match s.find(|c: char| c.is_ascii_whitespace()) {
        Some(p) => (&s[..p], s[p..].trim_start()),
        None => (s, ""),
    }
}

fn invalid_command(line: usize, command: &'static str, reason: String) -> ScriptError {
    ScriptError::InvalidCommand {
        line,
        command,
        reason,
    }
}

fn duration(line: usize, what: &'static str, text: &str) -> Result<i64, ScriptError> {
    parse_duration(text).map_err(|reason| ScriptError::InvalidDuration {
        line,
        what,
        text: text.to_owned(),
        reason,
    })
}

fn parse_load(word: &str, rest: &str, line: usize, body: &[&str]) -> Result<Load, ScriptError> {
    let (interval, extra) = split_word(rest);
    if interval.is_empty() || !extra.is_empty() {
        return Err(invalid_command(
            line,
            "load",
            format!("expected `{word} <interval>`"),
        ));
    }
    let interval_ms = duration(line, "load interval", interval)?;
    let mut series: Vec<SeriesSpec> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut default_offsets: Vec<Option<i64>> = Vec::new();
    // A `metric@st` line waiting for its sample line: (line, labels, offsets).
    let mut pending: Option<(usize, Labels, Vec<Option<i64>>)> = None;
    for (k, text) in body.iter().enumerate() {
        let line = line + 1 + k;
        let head = series::parse_head(text, line)?;
        if head.start_timestamps {
            if let Some((pending_line, ..)) = pending {
                return Err(ScriptError::InvalidSeries {
                    line: pending_line,
                    reason: "@st line is not followed by its sample line".to_owned(),
                });
            }
            let offsets = series::parse_start_offsets(head.values, line)?;
            match head.labels {
                Some(labels) => pending = Some((line, labels, offsets)),
                None => default_offsets = offsets,
            }
            continue;
        }
        let Some(labels) = head.labels else {
            return Err(ScriptError::InvalidSeries {
                line,
                reason: "missing labels".to_owned(),
            });
        };
        let points = series::parse_points(head.values, line)?;
        let start_offsets_ms = match pending.take() {
            Some((pending_line, st_labels, offsets)) => {
                if st_labels != labels {
                    return Err(ScriptError::InvalidSeries {
                        line: pending_line,
                        reason: format!("@st line is for {st_labels}, the next sample line for {labels}"),
                    });
                }
                if offsets.len() != points.len() {
                    return Err(ScriptError::InvalidSeries {
                        line: pending_line,
                        reason: format!(
                            "@st line has {} values but its sample line has {}",
                            offsets.len(),
                            points.len()
                        ),
                    });
                }
                offsets
            }
            // A default sequence is cycled over the points.
            None if !default_offsets.is_empty() => (0..points.len())
                .map(|p| default_offsets[p % default_offsets.len()])
                .collect(),
            None => Vec::new(),
        };
        let spec = SeriesSpec {
            line,
            labels,
            points,
            start_offsets_ms,
        };
        insert_series(&mut series, &mut index, spec);
    }
    if let Some((pending_line, ..)) = pending {
        return Err(ScriptError::InvalidSeries {
            line: pending_line,
            reason: "@st line is not followed by its sample line".to_owned(),
        });
    }
    Ok(Load {
        line,
        interval_ms,
        with_nhcb: word == "load_with_nhcb",
        series,
    })
}

/// Adds a series; a label set seen before is replaced in place, as Prometheus keeps one definition per
/// label set.
fn insert_series(series: &mut Vec<SeriesSpec>, index: &mut HashMap<Labels, usize>, spec: SeriesSpec) {
    match index.get(&spec.labels) {
        Some(&at) => series[at] = spec,
        None => {
            index.insert(spec.labels.clone(), series.len());
            series.push(spec);
        }
    }
}

/// The header of an `eval` command, before its query.
struct EvalHeader<'a> {
    kind: EvalKind,
    query: &'a str,
}

/// Parses `instant at <t> <query>` or `range from <a> to <b> step <c> <query>`.
fn parse_eval_header<'a>(word: &str, rest: &'a str, line: usize) -> Result<EvalHeader<'a>, ScriptError> {
    let usage = || {
        invalid_command(
            line,
            "eval",
            format!(
                "expected `{word} instant at <time> <query>` or `{word} range from <start> to <end> {}",
                "step <step> <query>`"
            ),
        )
    };
    let (mode, rest) = split_word(rest);
    match mode {
        "instant" => {
            let (at, rest) = split_word(rest);
            let (time, query) = split_word(rest);
            if at != "at" || time.is_empty() || query.is_empty() {
                return Err(usage());
            }
            let at_ms = duration(line, "evaluation time", time)?;
            Ok(EvalHeader {
                kind: EvalKind::Instant { at_ms },
                query,
            })
        }
        "range" => {
            let (from, rest) = split_word(rest);
            let (start, rest) = split_word(rest);
            let (to, rest) = split_word(rest);
            let (end, rest) = split_word(rest);
            let (step_kw, rest) = split_word(rest);
            let (step, query) = split_word(rest);
            if from != "from" || to != "to" || step_kw != "step" || step.is_empty() || query.is_empty() {
                return Err(usage());
            }
            let range = step_range(line, start, end, step)?;
            Ok(EvalHeader {
                kind: EvalKind::Range(range),
                query,
            })
        }
        _ => Err(usage()),
    }
}

fn step_range(line: usize, start: &str, end: &str, step: &str) -> Result<StepRange, ScriptError> {
    let start_ms = duration(line, "start time", start)?;
    let end_ms = duration(line, "end time", end)?;
    let step_ms = duration(line, "step", step)?;
    if end_ms < start_ms {
        return Err(ScriptError::InvalidDuration {
            line,
            what: "end time",
            text: end.to_owned(),
            reason: format!("before the start time {start}"),
        });
    }
    Ok(StepRange {
        start_ms,
        end_ms,
        step_ms,
    })
}

/// Parses an `eval` command and its body; returns it with the number of body lines consumed (a scalar
/// result line or a deprecated `expected_fail_*` line ends the block early, as in Prometheus).
fn parse_eval(word: &str, rest: &str, line: usize, body: &[&str]) -> Result<(Eval, usize), ScriptError> {
    let deprecated = match word {
        "eval" => None,
        "eval_fail" => Some(Expect::Fail(None)),
        "eval_warn" => Some(Expect::Warn(None)),
        "eval_info" => Some(Expect::Info(None)),
        "eval_ordered" => Some(Expect::Ordered),
        _ => {
            return Err(ScriptError::UnknownCommand {
                line,
                text: format!("{word} {rest}"),
            });
        }
    };
    let header = parse_eval_header(word, rest, line)?;
    let is_instant = matches!(header.kind, EvalKind::Instant { .. });
    if word == "eval_ordered" && !is_instant {
        return Err(invalid_command(
            line,
            "eval",
            "eval_ordered is for instant queries only".to_owned(),
        ));
    }
    let eval_fail = word == "eval_fail";
    let mut expects: Vec<Expect> = deprecated.into_iter().collect();
    let mut range_vector: Option<StepRange> = None;
    let mut string: Option<String> = None;
    let mut scalar: Option<f64> = None;
    let mut series: Vec<SeriesSpec> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut used = 0;
    for (k, text) in body.iter().enumerate() {
        let line = line + 1 + k;
        used = k + 1;
        if let Some(m) = deprecated_fail_message(text) {
            if !eval_fail {
                return Err(ScriptError::InvalidExpect {
                    line,
                    reason: "expected_fail_message and expected_fail_regexp need eval_fail".to_owned(),
                });
            }
            // The message replaces eval_fail's bare expectation; Prometheus ends the block here.
            expects.retain(|e| !matches!(e, Expect::Fail(_)));
            expects.push(Expect::Fail(m));
            break;
        }
        let (first, after) = split_word(text);
        if first == "expect" {
            let (second, _) = split_word(after);
            match second {
                "range" => {
                    if !is_instant {
                        return Err(ScriptError::InvalidExpect {
                            line,
                            reason: "expect range vector is for instant queries only".to_owned(),
                        });
                    }
                    if range_vector.is_some() {
                        return Err(ScriptError::InvalidExpect {
                            line,
                            reason: "a second expect range vector".to_owned(),
                        });
                    }
                    range_vector = Some(parse_expect_range(after, line)?);
                }
                "string" => {
                    if string.is_some() {
                        return Err(ScriptError::InvalidExpect {
                            line,
                            reason: "a second expect string".to_owned(),
                        });
                    }
                    string = Some(parse_expect_string(after, line)?);
                }
                _ => {
                    let e = parse_expect(after, line)?;
                    check_expect_compatible(&expects, &e, line)?;
                    expects.push(e);
                }
            }
            continue;
        }
        if let Some(v) = parse_go_number(text) {
            if !series.is_empty() {
                return Err(ScriptError::InvalidResult {
                    line,
                    reason: "a scalar result after series results".to_owned(),
                });
            }
            scalar = Some(v);
            break;
        }
        let head = series::parse_head(text, line)?;
        if head.start_timestamps {
            return Err(ScriptError::InvalidResult {
                line,
                reason: "@st lines are only valid in load commands".to_owned(),
            });
        }
        let Some(labels) = head.labels else {
            return Err(ScriptError::InvalidSeries {
                line,
                reason: "missing labels".to_owned(),
            });
        };
        let points = series::parse_points(head.values, line)?;
        if is_instant && range_vector.is_none() && points.len() != 1 {
            return Err(ScriptError::InvalidResult {
                line,
                reason: format!(
                    concat!(
                        "an instant query result needs exactly one value per series, found {} ",
                        "(`expect range vector` allows a range-vector result)"
                    ),
                    points.len()
                ),
            });
        }
        let spec = SeriesSpec {
            line,
            labels,
            points,
            start_offsets_ms: Vec::new(),
        };
        insert_series(&mut series, &mut index, spec);
    }
    let expected = match (string, scalar, range_vector) {
        (Some(s), None, None) if series.is_empty() => Expected::String(s),
        (None, Some(v), None) => Expected::Scalar(v),
        (None, None, Some(range)) => Expected::RangeVector { range, series },
        (None, None, None) => Expected::Series(series),
        _ => {
            return Err(ScriptError::InvalidResult {
                line,
                reason: "conflicting kinds of expected results (string, scalar, range vector, series)"
                    .to_owned(),
            });
        }
    };
    let eval = Eval {
        line,
        query: header.query.to_owned(),
        kind: header.kind,
        expects,
        expected,
    };
    Ok((eval, used))
}

/// `expected_fail_message <text>` / `expected_fail_regexp <re>`: `Some(expectation)` if the line is one.
fn deprecated_fail_message(text: &str) -> Option<Option<MessageMatch>> {
    if let Some(m) = text.strip_prefix("expected_fail_message") {
        let m = m.trim();
        return Some((!m.is_empty()).then(|| MessageMatch::Exact(m.to_owned())));
    }
    if let Some(re) = text.strip_prefix("expected_fail_regexp") {
        let re = re.trim();
        return Some((!re.is_empty()).then(|| MessageMatch::Regex(re.to_owned())));
    }
    None
}

/// `expect <type> [msg|regex: <text>]`, given the text after `expect`.
fn parse_expect(after: &str, line: usize) -> Result<Expect, ScriptError> {
    let invalid = |reason: String| ScriptError::InvalidExpect { line, reason };
    let (kind, rest) = split_word(after);
    let matcher = if rest.is_empty() {
        None
    } else if let Some(m) = rest.strip_prefix("msg:") {
        Some(MessageMatch::Exact(m.trim().to_owned()))
    } else if let Some(re) = rest.strip_prefix("regex:") {
        Some(MessageMatch::Regex(re.trim().to_owned()))
    } else {
        return Err(invalid(format!(
            "expected `msg: <text>` or `regex: <pattern>`, found {rest:?}"
        )));
    };
    if matcher.as_ref().is_some_and(|m| m.text().is_empty()) {
        return Err(invalid("empty message after msg: or regex:".to_owned()));
    }
    match (kind, matcher) {
        ("fail", m) => Ok(Expect::Fail(m)),
        ("warn", m) => Ok(Expect::Warn(m)),
        ("info", m) => Ok(Expect::Info(m)),
        ("no_warn", None) => Ok(Expect::NoWarn),
        ("no_info", None) => Ok(Expect::NoInfo),
        ("ordered", None) => Ok(Expect::Ordered),
        ("no_warn" | "no_info" | "ordered", Some(_)) => {
            Err(invalid(format!("expect {kind} takes no message")))
        }
        _ => Err(invalid(format!(
            "unknown expectation {kind:?} (fail, warn, info, no_warn, no_info, ordered, range vector, string)"
        ))),
    }
}

/// The combinations Prometheus rejects: several `fail`s, `warn` with `no_warn`, `info` with `no_info`.
fn check_expect_compatible(expects: &[Expect], new: &Expect, line: usize) -> Result<(), ScriptError> {
    let has = |f: fn(&Expect) -> bool| expects.iter().any(f);
    let conflict = match new {
        Expect::Fail(_) => has(|e| matches!(e, Expect::Fail(_))).then_some("more than one expect fail"),
        Expect::Warn(_) => has(|e| matches!(e, Expect::NoWarn)).then_some("warn and no_warn together"),
        Expect::NoWarn => has(|e| matches!(e, Expect::Warn(_))).then_some("warn and no_warn together"),
        Expect::Info(_) => has(|e| matches!(e, Expect::NoInfo)).then_some("info and no_info together"),
        Expect::NoInfo => has(|e| matches!(e, Expect::Info(_))).then_some("info and no_info together"),
        Expect::Ordered => None,
    };
    match conflict {
        Some(reason) => Err(ScriptError::InvalidExpect {
            line,
            reason: reason.to_owned(),
        }),
        None => Ok(()),
    }
}

/// `range vector from <a> to <b> step <c>` (the text after `expect`).
fn parse_expect_range(after: &str, line: usize) -> Result<StepRange, ScriptError> {
    let words: Vec<&str> = after.split_ascii_whitespace().collect();
    match words.as_slice() {
        ["range", "vector", "from", start, "to", end, "step", step] => step_range(line, start, end, step),
        _ => Err(ScriptError::InvalidExpect {
            line,
            reason: "expected `expect range vector from <start> to <end> step <step>`".to_owned(),
        }),
    }
}

/// `string "<literal>"` (the text after `expect`), in Go string-literal syntax.
fn parse_expect_string(after: &str, line: usize) -> Result<String, ScriptError> {
    let (_, lit) = split_word(after);
    if lit.is_empty() {
        return Err(ScriptError::InvalidExpect {
            line,
            reason: "expect string needs a quoted string literal".to_owned(),
        });
    }
    unquote(lit, Quoting::Go).map_err(|reason| ScriptError::InvalidExpect {
        line,
        reason: format!("bad string literal {lit}: {reason}"),
    })
}

impl fmt::Display for Point {
    /// Close to the script notation: `_`, `stale`, a number, `{{a}}`, or `{{a}}+2*{{b}}` for the third
    /// point of `{{a}}+{{b}}xN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Point::Float(v) if v.to_bits() == model::STALE_NAN_BITS => f.write_str("stale"),
            Point::Float(v) => write!(f, "{v}"),
            Point::Missing => f.write_str("_"),
            Point::Histogram { spec, index } => match &spec.step {
                Some(step) if *index > 0 => {
                    let sign = if step.negative { '-' } else { '+' };
                    write!(f, "{}{sign}{index}*{}", spec.base, step.literal)
                }
                _ => f.write_str(&spec.base),
            },
        }
    }
}
