//! Natural string order for `sort_by_label` and `sort_by_label_desc`, as Prometheus gets it from the Go
//! package `github.com/facette/natsort`.

use std::cmp::Ordering;

/// The length of the digit run starting at `pos` (which holds a digit), after skipping that run's leading
/// zeros; returns the new start and the length. Like natsort, a zero followed by a non-digit is skipped
/// too, which makes `"0a"` compare like `"a"`.
fn digit_run(s: &[u8], mut pos: usize) -> (usize, usize) {
    let mut len = 1;
    while pos + len < s.len() {
        let next = s[pos + len];
        if s[pos] == b'0' {
            pos += 1;
            continue;
        }
        if next.is_ascii_digit() {
            len += 1;
        } else {
            break;
        }
    }
    (pos, len)
}

/// natsort's `Compare(a, b)`: whether `a` precedes `b` in natural order. Runs of ASCII digits compare as
/// numbers (longer run without leading zeros is larger, equal lengths compare bytewise), everything else
/// compares bytewise, and a proper prefix precedes the longer string.
pub fn natural_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut pa, mut pb) = (0, 0);
    loop {
        if pa >= a.len() {
            return pb < b.len();
        }
        if pb >= b.len() {
            return false;
        }
        let (ca, cb) = (a[pa], b[pb]);
        if ca.is_ascii_digit() && cb.is_ascii_digit() {
            let (sa, la) = digit_run(a, pa);
            let (sb, lb) = digit_run(b, pb);
            if la != lb {
                return la < lb;
            }
            match a[sa..sa + la].cmp(&b[sb..sb + lb]) {
                Ordering::Less => return true,
                Ordering::Greater => return false,
                Ordering::Equal => {}
            }
            pa = sa + la;
            pb = sb + lb;
            continue;
        }
        if ca != cb {
            return ca < cb;
        }
        pa += 1;
        pb += 1;
    }
}

/// The order `sort_by_label` applies to two values of one label: `Equal` only for identical strings
/// (Prometheus then moves on to the next label), otherwise [`natural_less`]. Distinct strings that
/// natsort considers equivalent (`"01"` and `"1"`) get Go a comparator that answers "greater" both ways;
/// here they fall back to byte order so that the result is a consistent total order, which Rust's sort
/// requires.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    if a == b {
        Ordering::Equal
    } else if natural_less(a, b) {
        Ordering::Less
    } else if natural_less(b, a) {
        Ordering::Greater
    } else {
        a.cmp(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(list: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        v.sort_by(|a, b| natural_cmp(a, b));
        v
    }

    #[test]
    fn functions_test_orders() {
        let cpus = ["100", "21", "20", "12", "11", "10", "3", "2", "1", "0"];
        assert_eq!(
            sorted(&cpus),
            ["0", "1", "2", "3", "10", "11", "12", "20", "21", "100"]
        );
        assert_eq!(sorted(&["4m1000", "4m600", "4m5"]), ["4m5", "4m600", "4m1000"]);
        assert_eq!(
            sorted(&["1.111.3", "1.2.3", "1.11.3"]),
            ["1.2.3", "1.11.3", "1.111.3"]
        );
    }

    #[test]
    fn natsort_package_example() {
        let list = [
            "1000X Radonius Maximus",
            "000050X Radonius",
            "10X Radonius",
            "200X Radonius",
            "20X Radonius",
            "20X Radonius Prime",
            "Allegia 50 Clasteron",
            "Allegia 500 Clasteron",
            "Allegia 50B Clasteron",
            "Allegia 6R Clasteron",
            "Alpha 2A-8000",
            "Alpha 2A-900",
            "Alpha 2",
            "Alpha 2A",
            "Callisto Morphamax 6000 SE2",
            "Callisto Morphamax 6000 SE",
            "Callisto Morphamax",
        ];
        let want = [
            "10X Radonius",
            "20X Radonius",
            "20X Radonius Prime",
            "000050X Radonius",
            "200X Radonius",
            "1000X Radonius Maximus",
            "Allegia 6R Clasteron",
            "Allegia 50 Clasteron",
            "Allegia 50B Clasteron",
            "Allegia 500 Clasteron",
            "Alpha 2",
            "Alpha 2A",
            "Alpha 2A-900",
            "Alpha 2A-8000",
            "Callisto Morphamax",
            "Callisto Morphamax 6000 SE",
            "Callisto Morphamax 6000 SE2",
        ];
        assert_eq!(sorted(&list), want);
    }

    #[test]
    fn prefixes_and_equivalents() {
        assert!(natural_less("a", "ab"));
        assert!(!natural_less("ab", "a"));
        assert!(!natural_less("a", "a"));
        assert!(natural_less("", "a"));
        assert!(natural_less("z2.doc", "z10.doc"));
        // Leading zeros do not count, so "01" and "1" are equivalent; byte order decides.
        assert!(!natural_less("01", "1") && !natural_less("1", "01"));
        assert_eq!(natural_cmp("01", "1"), Ordering::Less);
        assert_eq!(natural_cmp("1", "01"), Ordering::Greater);
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
        // Non-ASCII compares bytewise.
        assert!(natural_less("é", "ö"));
    }
}
