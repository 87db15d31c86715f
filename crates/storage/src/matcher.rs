//! Label matchers with Prometheus semantics: regexes are fully anchored, `.` matches newlines (as in
//! Prometheus 3), and a label that is absent reads as the empty string.

use std::fmt;

use regex::Regex;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

#[derive(Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<Regex>,
    /// For regexes that are a plain alternation of literals (`a|b|c`): the literals, so indexes can look
    /// them up directly instead of scanning every value.
    set: Option<Vec<String>>,
    /// Literal prefix every matching value must start with (regex matchers only).
    prefix: String,
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        };
        write!(f, "{}{}{:?}", self.name, op, self.value)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name && self.op == o.op && self.value == o.value
    }
}

const META: &[char] = &[
    '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$', '\\',
];

impl Matcher {
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        let (name, value) = (name.into(), value.into());
        let (mut regex, mut set, mut prefix) = (None, None, String::new());
        if matches!(op, MatchOp::Regex | MatchOp::NotRegex) {
            let anchored = format!("^(?s:{value})$");
            regex = Some(Regex::new(&anchored).map_err(|e| Error::InvalidRegex {
                label: name.clone(),
                expr: value.clone(),
                reason: e.to_string(),
            })?);
            let alternatives: Vec<&str> = value.split('|').collect();
            if alternatives.iter().all(|a| !a.contains(META)) {
                set = Some(alternatives.iter().map(|s| (*s).to_owned()).collect());
            } else if !value.contains('|') {
                prefix = value.chars().take_while(|c| !META.contains(c)).collect();
                // A quantifier applies to the character before it, which then is not a fixed prefix.
                if let Some(next) = value[prefix.len()..].chars().next()
                    && matches!(next, '*' | '?' | '{')
                {
                    prefix.pop();
                }
            }
        }
        Ok(Self {
            name,
            op,
            value,
            regex,
            set,
            prefix,
        })
    }

    pub fn eq(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
            set: None,
            prefix: String::new(),
        }
    }

    /// Whether `value` (empty for an absent label) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::Regex => self.regex_match(value),
            MatchOp::NotRegex => !self.regex_match(value),
        }
    }

    fn regex_match(&self, value: &str) -> bool {
        if let Some(set) = &self.set {
            return set.iter().any(|s| s == value);
        }
        if !value.starts_with(self.prefix.as_str()) {
            return false;
        }
        self.regex.as_ref().is_some_and(|r| r.is_match(value))
    }

    /// Whether a series without this label matches.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=` and literal-alternation `=~`: the exact values that match. Lets an index use postings
    /// lookups instead of scanning values.
    pub fn exact_values(&self) -> Option<Vec<&str>> {
        match self.op {
            MatchOp::Equal => Some(vec![self.value.as_str()]),
            MatchOp::Regex => self.set.as_ref().map(|s| s.iter().map(String::as_str).collect()),
            _ => None,
        }
    }

    /// Literal prefix every value matching a regex matcher must have (may be empty).
    pub fn literal_prefix(&self) -> &str {
        &self.prefix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_semantics() {
        let m = Matcher::new(MatchOp::Regex, "a", "foo.*").unwrap();
        assert!(m.matches("foo") && m.matches("foobar") && m.matches("foo\nbar") && !m.matches("xfoo"));
        assert_eq!(m.literal_prefix(), "foo");
        let m = Matcher::new(MatchOp::Regex, "a", "fo*").unwrap();
        assert_eq!(m.literal_prefix(), "f");
        assert!(m.matches("f") && m.matches("foo"));
        let m = Matcher::new(MatchOp::Regex, "a", "x|y|").unwrap();
        assert_eq!(m.exact_values(), Some(vec!["x", "y", ""]));
        assert!(m.matches_empty() && m.matches("y") && !m.matches("xy"));
        let m = Matcher::new(MatchOp::NotRegex, "a", "b.+").unwrap();
        assert!(m.matches("") && m.matches("b") && !m.matches("bc"));
        let e = Matcher::new(MatchOp::Regex, "job", "(").unwrap_err().to_string();
        assert!(
            e.starts_with("invalid regular expression \"(\" in matcher for label \"job\""),
            "{e}"
        );
    }
}
