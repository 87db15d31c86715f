//! Parsers for the text formats metrics arrive in (InfluxDB line protocol, Prometheus text
//! exposition) and a writer for the Prometheus one. Pure functions over byte slices: no IO, no
//! clock, no knowledge of series or storage.

pub mod error;
pub mod line_protocol;
pub mod text;

pub use error::{LineError, TextError};
pub use line_protocol::{FieldValue, Line, LineIter, Precision, parse_lines};
pub use text::{
    MetricType, NameAndLabels, TextItem, TextIter, TextSample, is_label_name, is_metric_name, parse_line,
    parse_series, parse_text, parse_value, split_series, write_help, write_sample, write_type, write_value,
};
