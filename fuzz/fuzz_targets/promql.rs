//! PromQL queries from the network: the parser must reject anything malformed without panicking,
//! and every accepted query must print to text that parses back to the same query.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    let Ok(expr) = promql_syntax::parse(query) else { return };
    let printed = expr.to_string();
    let reparsed = promql_syntax::parse(&printed).expect("printed query must parse");
    assert_eq!(reparsed.to_string(), printed, "printing must be stable");
    let prettied = promql_syntax::pretty(&expr);
    let reparsed = promql_syntax::parse(&prettied).expect("prettied query must parse");
    assert_eq!(reparsed.to_string(), printed, "pretty printing must keep the query");
});
