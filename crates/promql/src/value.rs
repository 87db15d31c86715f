//! Query results as the API returns them.

use std::sync::Arc;

use model::{FloatHistogram, Labels};

/// One element of an instant vector: a float `v`, or a native histogram `h` (then `v` is 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
    pub h: Option<Arc<FloatHistogram>>,
}

/// One series of a range vector or range-query result: float points and histogram points, each in
/// time order (a series may change kind over time).
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
    pub histograms: Vec<(i64, Arc<FloatHistogram>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar { t: i64, v: f64 },
    String { t: i64, v: String },
    Vector(Vec<Element>),
    Matrix(Vec<Points>),
}

impl Value {
    /// Prometheus's `resultType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// A result with the annotations evaluation produced, deduplicated, in the order first seen.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub value: Value,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}
