//! Error types of the exposition parsers.
//!
//! Neither error carries the line number: the iterators yield it next to each result, and the
//! caller (the HTTP layer) prefixes it, e.g. `line 3: invalid integer "1.5i"`.

/// Why one line of InfluxDB line protocol was rejected.
///
/// Wording follows InfluxDB's own messages where they are precise enough ("missing fields",
/// "unbalanced quotes", "invalid boolean"), and names the offending key or value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("invalid utf-8 in {part}")]
    InvalidUtf8 { part: &'static str },
    #[error("missing measurement")]
    MissingMeasurement,
    #[error("missing tag key")]
    MissingTagKey,
    #[error("missing tag value for tag key {key:?}")]
    MissingTagValue { key: String },
    #[error("invalid tag format: unescaped '=' in value of tag {key:?}")]
    InvalidTagValue { key: String },
    #[error("missing fields")]
    MissingFields,
    #[error("missing field key")]
    MissingFieldKey,
    #[error("invalid field key {key:?}: expected '=' after it")]
    InvalidFieldKey { key: String },
    #[error("missing field value for field {key:?}")]
    MissingFieldValue { key: String },
    #[error("unbalanced quotes in value of field {key:?}")]
    UnbalancedQuotes { key: String },
    #[error("expected ',' or ' ' after string value of field {key:?}, found {found:?}")]
    AfterString { key: String, found: String },
    #[error("invalid field value {value:?}")]
    InvalidFieldValue { value: String },
    #[error("invalid number {value:?}")]
    InvalidNumber { value: String },
    #[error("float out of range {value:?}")]
    FloatOutOfRange { value: String },
    #[error("invalid integer {value:?}")]
    InvalidInteger { value: String },
    #[error("integer out of range {value:?}")]
    IntegerOutOfRange { value: String },
    #[error("invalid unsigned integer {value:?}")]
    InvalidUnsigned { value: String },
    #[error("unsigned integer out of range {value:?}")]
    UnsignedOutOfRange { value: String },
    #[error("invalid boolean {value:?}")]
    InvalidBoolean { value: String },
    #[error("invalid timestamp {value:?}")]
    InvalidTimestamp { value: String },
    #[error("timestamp out of range {value:?}")]
    TimestampOutOfRange { value: String },
    #[error("unexpected content after timestamp {content:?}")]
    TrailingContent { content: String },
}

/// Why one line of the Prometheus text exposition format was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("invalid utf-8")]
    InvalidUtf8,
    #[error("missing metric name")]
    MissingMetricName,
    #[error("invalid metric name {name:?}")]
    InvalidMetricName { name: String },
    #[error("metric name given twice: {first:?} and {second:?}")]
    DuplicateMetricName { first: String, second: String },
    #[error("unterminated quoted name")]
    UnterminatedQuotedName,
    #[error("expected label name, found {found:?}")]
    ExpectedLabelName { found: String },
    #[error("invalid label name {name:?}")]
    InvalidLabelName { name: String },
    #[error("expected '=' after label name {label:?}")]
    ExpectedEquals { label: String },
    #[error("expected '\"' to start the value of label {label:?}")]
    ExpectedLabelValue { label: String },
    #[error("unterminated value of label {label:?}")]
    UnterminatedLabelValue { label: String },
    /// `after` describes what came before: `the value of label "job"` or `metric name "x"`.
    #[error("expected ',' or '}}' after {after}")]
    ExpectedLabelSeparator { after: String },
    #[error("unterminated label set")]
    UnterminatedLabels,
    #[error("duplicate label {label:?}")]
    DuplicateLabel { label: String },
    #[error("missing value for metric {name:?}")]
    MissingValue { name: String },
    #[error("invalid value {value:?}")]
    InvalidValue { value: String },
    #[error("invalid timestamp {value:?}")]
    InvalidTimestamp { value: String },
    #[error("missing metric type for {name:?}")]
    MissingMetricType { name: String },
    #[error("invalid metric type {kind:?}")]
    InvalidMetricType { kind: String },
    #[error("unexpected trailing content {content:?}")]
    TrailingContent { content: String },
}
