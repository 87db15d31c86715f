//! Label sets: sorted by name, unique names, no empty values (an empty value means "absent", as in
//! Prometheus).

use std::fmt;

use crate::error::{Error, Result};

pub const METRIC_NAME: &str = "__name__";

/// A series identity. Invariant: sorted by name, names unique and non-empty, values non-empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<(String, String)>);

/// Limits applied to label sets arriving from outside.
#[derive(Debug, Clone, Copy)]
pub struct LabelLimits {
    pub max_name_len: usize,
    pub max_value_len: usize,
    pub max_labels: usize,
}

impl Default for LabelLimits {
    fn default() -> Self {
        Self {
            max_name_len: 1024,
            max_value_len: 4096,
            max_labels: 64,
        }
    }
}

impl Labels {
    /// Builds a label set from pairs in any order. Empty values are dropped; duplicate or empty names are
    /// errors. Names may be any UTF-8 (Prometheus 3 accepts UTF-8 names); `&str` guarantees validity.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(pairs: &[(N, V)]) -> Result<Self> {
        let mut v: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for (n, val) in pairs {
            let (n, val) = (n.as_ref(), val.as_ref());
            if n.is_empty() {
                return Err(Error::EmptyLabelName);
            }
            if val.is_empty() {
                continue;
            }
            v.push((n.to_owned(), val.to_owned()));
        }
        Self::from_vec(v)
    }

    /// Like [`Labels::from_pairs`], taking ownership.
    pub fn from_vec(mut v: Vec<(String, String)>) -> Result<Self> {
        v.retain(|(_, val)| !val.is_empty());
        if v.iter().any(|(n, _)| n.is_empty()) {
            return Err(Error::EmptyLabelName);
        }
        v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for w in v.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(Error::DuplicateLabel(w[0].0.clone()));
            }
        }
        Ok(Self(v))
    }

    /// Builds from pairs the caller guarantees are sorted, unique and non-empty (decoders of our own
    /// files). Checked in debug builds.
    pub fn from_sorted_unchecked(v: Vec<(String, String)>) -> Self {
        debug_assert!(v.windows(2).all(|w| w[0].0 < w[1].0));
        Self(v)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }

    /// Checks the rules every ingested series must meet: a metric name and the configured size limits.
    pub fn validate(&self, limits: &LabelLimits) -> Result<()> {
        if self.metric_name().is_none() {
            return Err(Error::MissingMetricName);
        }
        if self.0.len() > limits.max_labels {
            return Err(Error::TooManyLabels {
                series: self.to_string(),
                count: self.0.len(),
                limit: limits.max_labels,
            });
        }
        for (n, v) in &self.0 {
            if n.len() > limits.max_name_len {
                return Err(Error::NameTooLong {
                    name: n.clone(),
                    len: n.len(),
                    limit: limits.max_name_len,
                });
            }
            if v.len() > limits.max_value_len {
                return Err(Error::ValueTooLong {
                    name: n.clone(),
                    len: v.len(),
                    limit: limits.max_value_len,
                });
            }
        }
        Ok(())
    }
}

/// Brings borrowed label pairs into the form [`Labels`] guarantees (empty values dropped, sorted by name,
/// names unique and non-empty) and checks the ingest rules of [`Labels::validate`], without allocating
/// strings. Used on the hot ingest path.
pub fn normalize_pairs(pairs: &mut Vec<(&str, &str)>, limits: &LabelLimits) -> Result<()> {
    pairs.retain(|(_, v)| !v.is_empty());
    if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::DuplicateLabel(w[0].0.to_owned()));
        }
    }
    if pairs.first().is_some_and(|(n, _)| n.is_empty()) {
        return Err(Error::EmptyLabelName);
    }
    if !pairs.iter().any(|(n, _)| *n == METRIC_NAME) {
        return Err(Error::MissingMetricName);
    }
    if pairs.len() > limits.max_labels {
        let shown = Labels(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        );
        return Err(Error::TooManyLabels {
            series: shown.to_string(),
            count: pairs.len(),
            limit: limits.max_labels,
        });
    }
    for (n, v) in pairs.iter() {
        if n.len() > limits.max_name_len {
            return Err(Error::NameTooLong {
                name: n.to_string(),
                len: n.len(),
                limit: limits.max_name_len,
            });
        }
        if v.len() > limits.max_value_len {
            return Err(Error::ValueTooLong {
                name: n.to_string(),
                len: v.len(),
                limit: limits.max_value_len,
            });
        }
    }
    Ok(())
}

/// Formats label pairs like Prometheus: `name{a="1", b="2"}`.
pub fn format_pairs(pairs: &[(&str, &str)]) -> String {
    Labels(
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    )
    .to_string()
}

/// Formats like Prometheus: `name{a="1", b="2"}`.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.metric_name().unwrap_or("");
        f.write_str(name)?;
        f.write_str("{")?;
        let mut first = true;
        for (n, v) in self.iter().filter(|(n, _)| *n != METRIC_NAME) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{n}={v:?}")?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_drops_empty_and_rejects_duplicates() {
        let l = Labels::from_pairs(&[("b", "2"), ("__name__", "up"), ("a", ""), ("c", "3")]).unwrap();
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            vec![("__name__", "up"), ("b", "2"), ("c", "3")]
        );
        assert_eq!(l.to_string(), r#"up{b="2", c="3"}"#);
        let e = Labels::from_pairs(&[("a", "1"), ("a", "2")]).unwrap_err();
        assert_eq!(e.to_string(), "duplicate label name \"a\"");
        assert_eq!(
            Labels::from_pairs(&[("", "x")]).unwrap_err(),
            Error::EmptyLabelName
        );
    }

    #[test]
    fn normalize_pairs_matches_labels() {
        let limits = LabelLimits::default();
        let mut p = vec![("b", "2"), ("__name__", "up"), ("a", ""), ("c", "3")];
        normalize_pairs(&mut p, &limits).unwrap();
        let l = Labels::from_pairs(&[("b", "2"), ("__name__", "up"), ("a", ""), ("c", "3")]).unwrap();
        assert_eq!(p, l.iter().collect::<Vec<_>>());
        let mut p = vec![("__name__", "m"), ("a", "1"), ("a", "2")];
        assert_eq!(
            normalize_pairs(&mut p, &limits).unwrap_err(),
            Error::DuplicateLabel("a".into())
        );
        let mut p = vec![("job", "x")];
        assert_eq!(
            normalize_pairs(&mut p, &limits).unwrap_err(),
            Error::MissingMetricName
        );
    }

    #[test]
    fn validate_names_the_offender() {
        let limits = LabelLimits {
            max_name_len: 8,
            max_value_len: 3,
            max_labels: 3,
        };
        let l = Labels::from_pairs(&[("__name__", "m"), ("job", "toolong")]).unwrap();
        assert_eq!(
            l.validate(&limits).unwrap_err().to_string(),
            "value of label \"job\" is 7 bytes long, over the limit of 3"
        );
        let l = Labels::from_pairs(&[("job", "x")]).unwrap();
        assert_eq!(l.validate(&limits).unwrap_err(), Error::MissingMetricName);
    }
}
