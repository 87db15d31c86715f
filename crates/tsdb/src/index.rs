//! Matcher evaluation over postings lists, shared by the head and by blocks. Postings are sorted,
//! deduplicated series ids.

use storage::Matcher;

/// What an index must offer for matchers to be evaluated against it.
pub trait PostingsSource {
    /// Sorted ids of the series with label `name` = `value`.
    fn postings(&self, name: &str, value: &str) -> Vec<u32>;
    /// Every value label `name` takes, in any order (the head returns them sorted).
    fn values(&self, name: &str) -> Vec<String>;
    /// Sorted ids of every series.
    fn all(&self) -> Vec<u32>;
}

pub fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::with_capacity(a.len().min(b.len())));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

pub fn subtract(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut j, mut out) = (0, Vec::with_capacity(a.len()));
    for x in a {
        while j < b.len() && b[j] < *x {
            j += 1;
        }
        if j >= b.len() || b[j] != *x {
            out.push(*x);
        }
    }
    out
}

pub fn union_all(mut lists: Vec<Vec<u32>>) -> Vec<u32> {
    match lists.len() {
        0 => Vec::new(),
        1 => lists.pop().unwrap_or_default(),
        _ => {
            let mut all: Vec<u32> = lists.concat();
            all.sort_unstable();
            all.dedup();
            all
        }
    }
}

/// Values of `m.name` that satisfy `m` (or, with `negate`, that do not).
fn matching_values(src: &impl PostingsSource, m: &Matcher, negate: bool) -> Vec<String> {
    if !negate && let Some(exact) = m.exact_values() {
        return exact
            .into_iter()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
    }
    let prefix = m.literal_prefix();
    src.values(&m.name)
        .into_iter()
        .filter(|v| {
            // Regex fast path: values without the literal prefix cannot match.
            let matches = (prefix.is_empty() || v.starts_with(prefix) || m.op != storage::MatchOp::Regex)
                && m.matches(v);
            matches != negate
        })
        .collect()
}

/// Ids of the series satisfying every matcher, sorted.
pub fn select(src: &impl PostingsSource, matchers: &[Matcher]) -> Vec<u32> {
    // Matchers that do not match the empty string narrow the set by postings lookups; do them first.
    let (positive, negative): (Vec<&Matcher>, Vec<&Matcher>) =
        matchers.iter().partition(|m| !m.matches_empty());
    let mut acc: Option<Vec<u32>> = None;
    for m in positive {
        let lists = matching_values(src, m, false)
            .iter()
            .map(|v| src.postings(&m.name, v))
            .collect();
        let ids = union_all(lists);
        acc = Some(match acc {
            None => ids,
            Some(a) => intersect(&a, &ids),
        });
        if acc.as_ref().is_some_and(Vec::is_empty) {
            return Vec::new();
        }
    }
    let mut acc = acc.unwrap_or_else(|| src.all());
    for m in negative {
        // The series this matcher rejects are exactly those whose value for the label does not match.
        let lists = matching_values(src, m, true)
            .iter()
            .map(|v| src.postings(&m.name, v))
            .collect();
        acc = subtract(&acc, &union_all(lists));
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use storage::MatchOp;

    struct Fake(BTreeMap<(String, String), Vec<u32>>, Vec<u32>);
    impl PostingsSource for Fake {
        fn postings(&self, n: &str, v: &str) -> Vec<u32> {
            self.0
                .get(&(n.to_owned(), v.to_owned()))
                .cloned()
                .unwrap_or_default()
        }
        fn values(&self, n: &str) -> Vec<String> {
            self.0
                .keys()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .collect()
        }
        fn all(&self) -> Vec<u32> {
            self.1.clone()
        }
    }

    #[test]
    fn matcher_semantics_match_a_scan() {
        // series 0..6 with job in {a,b,ab}, some without env
        let series: Vec<Vec<(&str, &str)>> = vec![
            vec![("job", "a"), ("env", "prod")],
            vec![("job", "b")],
            vec![("job", "ab"), ("env", "dev")],
            vec![("env", "prod")],
            vec![("job", "a")],
            vec![],
        ];
        let mut map: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
        for (i, s) in series.iter().enumerate() {
            for (n, v) in s {
                map.entry((n.to_string(), v.to_string()))
                    .or_default()
                    .push(i as u32);
            }
        }
        let fake = Fake(map, (0..series.len() as u32).collect());
        let cases = [
            (MatchOp::Equal, "job", "a"),
            (MatchOp::NotEqual, "job", "a"),
            (MatchOp::Regex, "job", "a.*"),
            (MatchOp::Regex, "job", "a|b"),
            (MatchOp::Regex, "job", ".*"),
            (MatchOp::NotRegex, "job", "a.*"),
            (MatchOp::Equal, "env", ""),
            (MatchOp::NotEqual, "env", ""),
            (MatchOp::Regex, "job", "b|"),
        ];
        for (op, n, v) in cases {
            let m = Matcher::new(op, n, v).unwrap();
            let want: Vec<u32> = series
                .iter()
                .enumerate()
                .filter(|(_, s)| m.matches(s.iter().find(|(k, _)| *k == n).map(|(_, v)| *v).unwrap_or("")))
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(select(&fake, std::slice::from_ref(&m)), want, "{m}");
        }
    }
}
