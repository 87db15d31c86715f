//! Relabeling as Prometheus does it: `relabel_configs` on targets before a scrape and
//! `metric_relabel_configs` on the series of a scrape, with every action, Prometheus's defaults
//! (`action: replace`, `separator: ";"`, `regex: (.*)`, `replacement: $1`) and its checks of each
//! rule when the configuration is loaded.
//!
//! Regexes are anchored at both ends. A label set is a list of `(name, value)` pairs sorted by name,
//! with no empty value: setting a label to the empty string removes it, as in Prometheus.

use regex::Regex;
use serde::Deserialize;

/// One rule as written in YAML.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    pub source_labels: Option<Vec<String>>,
    pub separator: Option<String>,
    pub regex: Option<String>,
    pub modulus: Option<u64>,
    pub target_label: Option<String>,
    pub replacement: Option<String>,
    pub action: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl Action {
    /// Parses an action name; case does not matter, as in Prometheus.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

/// Why a rule was refused; the messages are Prometheus's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("unknown relabel action {0:?}")]
    UnknownAction(String),
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ZeroModulus,
    #[error("relabel configuration for {0} action requires 'target_label' value")]
    MissingTarget(&'static str),
    #[error("{0:?} is invalid 'target_label' for {1} action")]
    InvalidTarget(String, &'static str),
    #[error("'replacement' can not be set for {0} action")]
    ReplacementSet(&'static str),
    #[error("{0:?} is invalid 'replacement' for {1} action")]
    InvalidReplacement(String, &'static str),
    #[error("{0} action requires only 'source_labels' and `target_label`, and no other fields")]
    EqualExtraFields(&'static str),
    #[error("{0} action requires only 'regex', and no other fields")]
    LabelExtraFields(&'static str),
    #[error("invalid regex {0:?}: {1}")]
    Regex(String, String),
}

const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_REPLACEMENT: &str = "$1";

/// A checked rule, ready to apply.
#[derive(Debug, Clone)]
pub struct Rule {
    pub action: Action,
    pub source_labels: Vec<String>,
    pub separator: String,
    regex: Regex,
    /// The regex as written (without the anchors).
    pub regex_text: String,
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
}

/// Whether `s` is a label name Prometheus 3 accepts: any non-empty UTF-8.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
}

/// Prometheus's check of a templated target (`${1}_x`) or a `labelmap` replacement: letters, digits,
/// underscores and `$name`/`${name}` references, not starting with a digit.
fn valid_template(s: &str) -> bool {
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    let mut first = true;
    while i < b.len() {
        match b[i] {
            b'$' => {
                if b.get(i + 1) == Some(&b'{') {
                    let Some(end) = b[i + 2..].iter().position(|&c| c == b'}') else {
                        return false;
                    };
                    if end == 0 || !b[i + 2..i + 2 + end].iter().all(|&c| word(c)) {
                        return false;
                    }
                    i += end + 3;
                } else {
                    let n = b[i + 1..].iter().take_while(|&&c| word(c)).count();
                    if n == 0 {
                        return false;
                    }
                    i += n + 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => i += 1,
            c if c.is_ascii_digit() && !first => i += 1,
            _ => return false,
        }
        first = false;
    }
    !b.is_empty()
}

impl RelabelConfig {
    /// Checks the rule as Prometheus does when it loads a configuration.
    pub fn compile(&self) -> Result<Rule, Error> {
        let action_text = self.action.as_deref().unwrap_or("replace");
        let action =
            Action::parse(action_text).ok_or_else(|| Error::UnknownAction(action_text.to_owned()))?;
        let a = action.as_str();
        let separator = self
            .separator
            .clone()
            .unwrap_or_else(|| DEFAULT_SEPARATOR.to_owned());
        let regex_text = self.regex.clone().unwrap_or_else(|| DEFAULT_REGEX.to_owned());
        let modulus = self.modulus.unwrap_or(0);
        let target = self.target_label.clone().unwrap_or_default();
        let replacement = self
            .replacement
            .clone()
            .unwrap_or_else(|| DEFAULT_REPLACEMENT.to_owned());
        use Action::*;
        if modulus == 0 && action == HashMod {
            return Err(Error::ZeroModulus);
        }
        if matches!(
            action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && target.is_empty()
        {
            return Err(Error::MissingTarget(a));
        }
        if action == Replace && target.contains('$') && !valid_template(&target) {
            return Err(Error::InvalidTarget(target, a));
        }
        if matches!(
            action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && !target.contains('$')
            && !valid_name(&target)
        {
            return Err(Error::InvalidTarget(target, a));
        }
        if matches!(action, Lowercase | Uppercase | KeepEqual | DropEqual)
            && replacement != DEFAULT_REPLACEMENT
        {
            return Err(Error::ReplacementSet(a));
        }
        if action == LabelMap && !valid_template(&replacement) {
            return Err(Error::InvalidReplacement(replacement, a));
        }
        if matches!(action, KeepEqual | DropEqual)
            && (self.regex.is_some() || modulus != 0 || separator != DEFAULT_SEPARATOR)
        {
            return Err(Error::EqualExtraFields(a));
        }
        if matches!(action, LabelDrop | LabelKeep)
            && (self.source_labels.is_some()
                || !target.is_empty()
                || modulus != 0
                || separator != DEFAULT_SEPARATOR
                || replacement != DEFAULT_REPLACEMENT)
        {
            return Err(Error::LabelExtraFields(a));
        }
        let regex = Regex::new(&format!("^(?:{regex_text})$"))
            .map_err(|e| Error::Regex(regex_text.clone(), e.to_string()))?;
        Ok(Rule {
            action,
            source_labels: self.source_labels.clone().unwrap_or_default(),
            separator,
            regex,
            regex_text,
            modulus,
            target_label: target,
            replacement,
        })
    }
}

/// A label set under relabeling: sorted by name, no empty values.
pub type LabelPairs = Vec<(String, String)>;

fn get<'a>(l: &'a LabelPairs, name: &str) -> &'a str {
    l.binary_search_by(|(n, _)| n.as_str().cmp(name))
        .map_or("", |i| l[i].1.as_str())
}

/// Sets `name` to `value`; the empty value removes the label.
fn set(l: &mut LabelPairs, name: &str, value: &str) {
    match l.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
        Ok(i) if value.is_empty() => {
            l.remove(i);
        }
        Ok(i) => value.clone_into(&mut l[i].1),
        Err(_) if value.is_empty() => {}
        Err(i) => l.insert(i, (name.to_owned(), value.to_owned())),
    }
}

impl Rule {
    /// Applies the rule; false when it drops the label set.
    pub fn apply(&self, l: &mut LabelPairs) -> bool {
        let val = {
            let mut it = self.source_labels.iter().map(|n| get(l, n));
            let mut v = String::from(it.next().unwrap_or(""));
            for x in it {
                v.push_str(&self.separator);
                v.push_str(x);
            }
            v
        };
        match self.action {
            Action::Drop => return !self.regex.is_match(&val),
            Action::Keep => return self.regex.is_match(&val),
            Action::DropEqual => return get(l, &self.target_label) != val,
            Action::KeepEqual => return get(l, &self.target_label) == val,
            Action::Replace => {
                // Without templates and with the default regex, an empty input sets the literal.
                if val.is_empty()
                    && self.regex_text == DEFAULT_REGEX
                    && !self.target_label.contains('$')
                    && !self.replacement.contains('$')
                {
                    set(l, &self.target_label, &self.replacement);
                    return true;
                }
                let Some(caps) = self.regex.captures(&val) else {
                    return true;
                };
                let mut target = String::new();
                caps.expand(&self.target_label, &mut target);
                if !valid_name(&target) {
                    return true;
                }
                let mut value = String::new();
                caps.expand(&self.replacement, &mut value);
                set(l, &target, &value);
            }
            Action::Lowercase => set(l, &self.target_label, &simple_case(&val, char::to_lowercase)),
            Action::Uppercase => set(l, &self.target_label, &simple_case(&val, char::to_uppercase)),
            Action::HashMod => {
                let d = crate::md5::digest(val.as_bytes());
                let tail = u64::from_be_bytes([d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15]]);
                set(l, &self.target_label, &(tail % self.modulus).to_string());
            }
            Action::LabelMap => {
                let snapshot = l.clone();
                for (name, value) in &snapshot {
                    if let Some(caps) = self.regex.captures(name) {
                        let mut to = String::new();
                        caps.expand(&self.replacement, &mut to);
                        set(l, &to, value);
                    }
                }
            }
            Action::LabelDrop => l.retain(|(n, _)| !self.regex.is_match(n)),
            Action::LabelKeep => l.retain(|(n, _)| self.regex.is_match(n)),
        }
        true
    }
}

/// Maps each character to its case as Go's `strings.ToLower`/`ToUpper` do: one character for one,
/// so a character whose mapping is several (`ß` → `SS`) stays as it is.
fn simple_case<I: Iterator<Item = char>>(s: &str, map: fn(char) -> I) -> String {
    s.chars()
        .map(|c| {
            let mut m = map(c);
            match (m.next(), m.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}

/// Applies `rules` in order; false as soon as one drops the label set.
pub fn process(l: &mut LabelPairs, rules: &[Rule]) -> bool {
    rules.iter().all(|r| r.apply(l))
}

#[cfg(test)]
mod tests;
