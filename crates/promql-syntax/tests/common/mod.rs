//! Helpers shared by the integration tests: comparing trees without positions, round trips.

#![allow(dead_code)] // each test file uses its own subset

use promql_syntax::{Expr, Pos, parse, pretty};

/// `expr` with every position zeroed, for comparing trees parsed from different texts.
pub fn strip(expr: &Expr) -> Expr {
    let mut e = expr.clone();
    strip_in_place(&mut e);
    e
}

fn strip_in_place(e: &mut Expr) {
    let zero = Pos::default();
    match e {
        Expr::Number(n) => n.pos = zero,
        Expr::String(s) => s.pos = zero,
        Expr::VectorSelector(v) => v.pos = zero,
        Expr::MatrixSelector(m) => {
            m.pos = zero;
            m.selector.pos = zero;
        }
        Expr::Subquery(s) => {
            s.pos = zero;
            strip_in_place(&mut s.expr);
        }
        Expr::Paren(p) => {
            p.pos = zero;
            strip_in_place(&mut p.expr);
        }
        Expr::Unary(u) => {
            u.pos = zero;
            strip_in_place(&mut u.expr);
        }
        Expr::Binary(b) => {
            b.pos = zero;
            strip_in_place(&mut b.lhs);
            strip_in_place(&mut b.rhs);
        }
        Expr::Aggregate(a) => {
            a.pos = zero;
            strip_in_place(&mut a.expr);
            if let Some(p) = &mut a.param {
                strip_in_place(p);
            }
        }
        Expr::Call(c) => {
            c.pos = zero;
            c.args.iter_mut().for_each(strip_in_place);
        }
    }
}

/// Trees compared through `Debug`, which (unlike `==`) treats NaN literals as equal.
pub fn same_tree(a: &Expr, b: &Expr) -> bool {
    format!("{:?}", strip(a)) == format!("{:?}", strip(b))
}

/// Printing `expr` (single-line and pretty) and parsing the text again gives the same tree, and
/// printing is stable.
pub fn assert_round_trip(original: &str, expr: &Expr) {
    let printed = expr.to_string();
    let reparsed = parse(&printed).unwrap_or_else(|e| panic!("{original:?} printed as {printed:?}: {e}"));
    assert!(
        same_tree(expr, &reparsed),
        "{original:?} printed as {printed:?} parses differently"
    );
    assert_eq!(
        reparsed.to_string(),
        printed,
        "printing {original:?} is not stable"
    );
    let prettied = pretty(expr);
    let reparsed = parse(&prettied).unwrap_or_else(|e| panic!("{original:?} prettied as {prettied:?}: {e}"));
    assert!(
        same_tree(expr, &reparsed),
        "{original:?} prettied as {prettied:?} parses differently"
    );
}
