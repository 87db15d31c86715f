//! Behaviour tests. Expected outputs and messages are Go's: from the text/template and fmt
//! documentation, Go's own behaviour, and Prometheus's `template/template_test.go` and
//! `prometheus/common` humanize tests (same inputs, same expected strings).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::alertmanager::{Alerts, KV};
use crate::*;

fn tmpl(funcs: Funcs, text: &str) -> Template {
    let mut t = Template::new("test", funcs);
    t.parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    t
}

/// Executes with Prometheus's functions and `missingkey=zero`, as Prometheus does.
fn prom(text: &str, data: &Value) -> String {
    let mut t = tmpl(
        prometheus::funcs_with("http://testhost:9090/path/prefix", 0),
        text,
    );
    t.set_missing_key(MissingKey::Zero);
    t.execute(data).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn prom_err(text: &str, data: &Value) -> String {
    let mut t = tmpl(prometheus::funcs(), text);
    t.set_missing_key(MissingKey::Zero);
    match t.execute(data) {
        Ok(out) => panic!("{text:?} gave {out:?}"),
        Err(e) => e.to_string(),
    }
}

fn prom_html(text: &str, data: &Value) -> String {
    let mut t = tmpl(prometheus::funcs(), text);
    t.set_missing_key(MissingKey::Zero);
    t.execute_html(data).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Executes with only Go's builtins and the default `missingkey`.
fn go(text: &str, data: &Value) -> String {
    tmpl(Funcs::new(), text)
        .execute(data)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn go_err(text: &str, data: &Value) -> String {
    match tmpl(Funcs::new(), text).execute(data) {
        Ok(out) => panic!("{text:?} gave {out:?}"),
        Err(e) => e.to_string(),
    }
}

fn parse_err(text: &str) -> String {
    let mut t = Template::new("test", prometheus::funcs());
    match t.parse(text) {
        Ok(()) => panic!("{text:?} parsed"),
        Err(e) => e.to_string(),
    }
}

fn none() -> Value {
    Value::Missing
}

fn s(x: &str) -> Value {
    Value::str(x)
}

fn floats(xs: &[f64]) -> Value {
    Value::list(xs.iter().map(|&x| Value::Float(x)))
}

fn ints(xs: &[i64]) -> Value {
    Value::list(xs.iter().map(|&x| Value::Int(x)))
}

fn strs(xs: &[&str]) -> Value {
    Value::list(xs.iter().map(|&x| s(x)))
}

fn printf(format: &str, args: &[Value]) -> String {
    sprintf(format, args)
}

// ---------------------------------------------------------------------------------------------
// Text, actions, trim markers, comments

#[test]
fn text_and_literals() {
    assert_eq!(go("plain text", &none()), "plain text");
    assert_eq!(go("", &none()), "");
    assert_eq!(go("{{ 1 }}", &none()), "1");
    assert_eq!(
        go(
            "{{1.5}} {{-2}} {{+3}} {{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}}",
            &none()
        ),
        "1.5 -2 3 31 15 15 5 1000"
    );
    assert_eq!(
        go("{{1e3}} {{1.0}} {{.5}} {{0x1p-2}} {{'a'}} {{'\\n'}}", &none()),
        "1000 1 0.5 0.25 97 10"
    );
    assert_eq!(go("{{true}} {{false}}", &none()), "true false");
    assert_eq!(go(r#"{{"a\tb\u00e9\x41\101"}}"#, &none()), "a\tbéAA");
    assert_eq!(go("{{`raw\\n`}}", &none()), "raw\\n");
    assert_eq!(go("{{.}}", &s("dot")), "dot");
    assert_eq!(go("{{.}}", &none()), "<no value>");
    assert_eq!(go("{{print nil}}", &none()), "<nil>");
}

#[test]
fn trim_markers_and_comments() {
    assert_eq!(go("{{23 -}} < {{- 45}}", &none()), "23<45");
    assert_eq!(go("x \n{{- 3 -}}\n y", &none()), "x3y");
    assert_eq!(go("a {{- /* comment */ -}} b", &none()), "ab");
    assert_eq!(go("a{{/* comment */}}b", &none()), "ab");
    assert_eq!(go("a {{/* c */ -}}\n\n b", &none()), "a b");
    // `-3` without a space is a number, not a trim marker.
    assert_eq!(go("a {{-3}} b", &none()), "a -3 b");
    assert_eq!(go("{{- \"x\" -}}", &none()), "x");
    assert_eq!(go("  {{- if true -}}  yes  {{- end -}}  ", &none()), "yes");
}

// ---------------------------------------------------------------------------------------------
// Fields, maps, variables

fn data() -> Value {
    Value::map([
        (
            "Labels",
            Value::map_of_strings([("instance", "db1:9100"), ("job", "node")]),
        ),
        ("Value", Value::Float(0.25)),
        ("SI", ints(&[3, 4, 5])),
        ("Empty", Value::list([])),
        ("Str", s("hello")),
        (
            "Nested",
            Value::map([("Inner", Value::map([("X", Value::Int(7))]))]),
        ),
        ("Nil", Value::Nil),
        ("T", Value::Bool(true)),
        ("F", Value::Bool(false)),
    ])
}

#[test]
fn fields_and_maps() {
    let d = data();
    assert_eq!(go("{{.Labels.instance}} {{.Nested.Inner.X}}", &d), "db1:9100 7");
    assert_eq!(go("{{.Labels}}", &d), "map[instance:db1:9100 job:node]");
    assert_eq!(go("{{.SI}}", &d), "[3 4 5]");
    // An absent key of a map of strings: `<no value>` by default, "" under missingkey=zero.
    assert_eq!(go("{{.Labels.nope}}", &d), "<no value>");
    assert_eq!(prom("{{.Labels.nope}}", &d), "");
    // Of a map of interfaces: `<no value>` either way, as in Go.
    assert_eq!(go("{{.Nope}}", &d), "<no value>");
    assert_eq!(prom("{{.Nope}}", &d), "<no value>");
    assert_eq!(prom("{{.Nope.Deeper}}", &d), "<no value>");
    assert_eq!(go("{{.Nil}}", &d), "<nil>");
    let mut t = tmpl(Funcs::new(), "{{ .Foo }}");
    t.set_missing_key(MissingKey::Error);
    assert_eq!(
        t.execute(&none()).unwrap_err().to_string(),
        r#"template: test:1:3: executing "test" at <.Foo>: nil data; no entry for key "Foo""#
    );
    assert_eq!(
        t.execute(&Value::map([("a", Value::Int(1))]))
            .unwrap_err()
            .to_string(),
        r#"template: test:1:3: executing "test" at <.Foo>: map has no entry for key "Foo""#
    );
    assert_eq!(
        go_err("{{.Str.Len}}", &d),
        r#"template: test:1:6: executing "test" at <.Str.Len>: can't evaluate field Len in type string"#
    );
    assert_eq!(
        go_err("{{.Labels.job 1}}", &d),
        r#"template: test:1:9: executing "test" at <.Labels.job>: job is not a method but has arguments"#
    );
}

#[test]
fn variables_and_scoping() {
    let d = data();
    assert_eq!(go("{{$x := 1}}{{$x}}", &d), "1");
    assert_eq!(go("{{$x := 1}}{{$x = 2}}{{$x}}", &d), "2");
    assert_eq!(go("{{$}}", &s("root")), "root");
    assert_eq!(go("{{with .Nested}}{{$.Str}} {{.Inner.X}}{{end}}", &d), "hello 7");
    assert_eq!(go("{{$x := .Nested}}{{$x.Inner.X}}", &d), "7");
    // Assignment inside a block changes the outer variable; declaration shadows it.
    assert_eq!(go("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", &d), "2");
    assert_eq!(
        go("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", &d),
        "21"
    );
    assert_eq!(go("{{$x := 0}}{{range .SI}}{{$x = .}}{{end}}{{$x}}", &d), "5");
    assert_eq!(
        parse_err("{{$x}}"),
        r#"template: test:1: undefined variable "$x""#
    );
    assert_eq!(
        parse_err("{{if true}}{{$x := 1}}{{end}}{{$x}}"),
        r#"template: test:1: undefined variable "$x""#
    );
    assert_eq!(
        parse_err("{{with $x := 1}}{{end}}\n{{$x}}"),
        r#"template: test:2: undefined variable "$x""#
    );
    // Templates do not see the caller's variables.
    assert_eq!(
        parse_err(r#"{{$x := 1}}{{define "a"}}{{$x}}{{end}}"#),
        r#"template: test:1: undefined variable "$x""#
    );
    // Assigning an undeclared variable parses (Go checks only reads) and fails when run.
    assert_eq!(
        go_err("{{$x = 1}}", &d),
        r#"template: test:1:7: executing "test" at <1>: undefined variable: $x"#
    );
}

// ---------------------------------------------------------------------------------------------
// Control structures

#[test]
fn if_else() {
    let d = data();
    assert_eq!(go("{{if .T}}yes{{else}}no{{end}}", &d), "yes");
    assert_eq!(go("{{if .F}}yes{{else}}no{{end}}", &d), "no");
    assert_eq!(go("{{if .F}}a{{else if .T}}b{{else}}c{{end}}", &d), "b");
    assert_eq!(go("{{if .F}}a{{else if .F}}b{{else}}c{{end}}", &d), "c");
    assert_eq!(go("{{if .Empty}}a{{else}}empty{{end}}", &d), "empty");
    assert_eq!(go("{{if .Nope}}a{{else}}missing{{end}}", &d), "missing");
    assert_eq!(go("{{if .Nil}}a{{else}}nil{{end}}", &d), "nil");
    assert_eq!(
        go(
            "{{if 0.0}}a{{else}}zero{{end}}{{if \"\"}}a{{else}}empty{{end}}{{if .Labels}}map{{end}}",
            &d
        ),
        "zeroemptymap"
    );
    assert_eq!(go("{{if and .T .Str}}{{.Str}}{{end}}", &d), "hello");
}

#[test]
fn with_else() {
    let d = data();
    assert_eq!(go("{{with .Str}}{{.}}{{end}}", &d), "hello");
    assert_eq!(go("{{with .Empty}}x{{else}}none{{end}}", &d), "none");
    assert_eq!(go("{{with $x := .Str}}{{$x}}{{.}}{{end}}", &d), "hellohello");
    assert_eq!(
        go("{{with .F}}a{{else with .Str}}{{.}}{{else}}c{{end}}", &d),
        "hello"
    );
    assert_eq!(go("{{with .F}}a{{else with .Empty}}b{{else}}c{{end}}", &d), "c");
}

#[test]
fn range() {
    let d = data();
    assert_eq!(go("{{range .SI}}-{{.}}-{{else}}EMPTY{{end}}", &d), "-3--4--5-");
    assert_eq!(go("{{range .Empty}}-{{.}}-{{else}}EMPTY{{end}}", &d), "EMPTY");
    assert_eq!(go("{{range .Nope}}-{{.}}-{{else}}EMPTY{{end}}", &d), "EMPTY");
    assert_eq!(go("{{range $x := .SI}}<{{$x}}>{{end}}", &d), "<3><4><5>");
    assert_eq!(
        go("{{range $i, $x := .SI}}<{{$i}}={{$x}}>{{end}}", &d),
        "<0=3><1=4><2=5>"
    );
    assert_eq!(
        go("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", &d),
        "instance=db1:9100;job=node;"
    );
    assert_eq!(go("{{range .Labels}}{{.}};{{end}}", &d), "db1:9100;node;");
    assert_eq!(
        go("{{range .SI}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}", &d),
        "3"
    );
    assert_eq!(
        go("{{range .SI}}{{if eq . 4}}{{continue}}{{end}}{{.}}{{end}}", &d),
        "35"
    );
    assert_eq!(
        go(
            "{{range 3}}{{.}}{{end}}|{{range $i := 2}}{{$i}}{{end}}|{{range 0}}x{{else}}none{{end}}",
            &d
        ),
        "012|01|none"
    );
    assert_eq!(
        go(
            "{{$i := 9}}{{$e := 9}}{{range $i, $e = .SI}}{{end}}{{$i}}{{$e}}",
            &d
        ),
        "25"
    );
    assert_eq!(
        go("{{range .SI}}{{range $.SI}}{{.}}{{end}};{{end}}", &d),
        "345;345;345;"
    );
    assert_eq!(
        go_err("{{range .Str}}{{end}}", &d),
        r#"template: test:1:8: executing "test" at <.Str>: range can't iterate over hello"#
    );
    assert_eq!(
        go_err("{{range $i, $e := 3}}{{end}}", &d),
        r#"template: test:1:18: executing "test" at <3>: can't use 3 to iterate over more than one variable"#
    );
    assert_eq!(
        parse_err("{{break}}"),
        "template: test:1: {{break}} outside {{range}}"
    );
    assert_eq!(
        parse_err("{{range .SI}}{{else}}{{continue}}{{end}}"),
        "template: test:1: {{continue}} outside {{range}}"
    );
    assert_eq!(
        parse_err("{{range $a, $b, $c := .}}{{end}}"),
        "template: test:1: too many declarations in range"
    );
    assert_eq!(
        parse_err("{{range $a, 3}}{{end}}"),
        "template: test:1: range can only initialize variables"
    );
}

#[test]
fn define_template_block() {
    let d = data();
    assert_eq!(
        go(
            r#"{{define "x"}}[{{.}}]{{end}}{{template "x" .Str}}{{template "x"}}"#,
            &d
        ),
        "[hello][<no value>]"
    );
    assert_eq!(go(r#"{{block "b" .Str}}<{{.}}>{{end}}"#, &d), "<hello>");
    // A later parse replaces the block's definition.
    let mut t = tmpl(Funcs::new(), r#"{{block "b" .}}default{{end}}"#);
    t.parse(r#"{{define "b"}}override{{end}}"#).unwrap();
    assert_eq!(t.execute(&d).unwrap(), "override");
    // A body of only spaces does not replace the template.
    let mut t = tmpl(Funcs::new(), "main body");
    t.parse("  \n{{/* only defines */}}{{define \"y\"}}y{{end}}\n")
        .unwrap();
    assert_eq!(t.execute(&d).unwrap(), "main body");
    assert_eq!(t.execute_named("y", &d).unwrap(), "y");
    assert_eq!(t.names(), vec!["test".to_string(), "y".to_string()]);
    // parse_named adds a template to the set.
    t.parse_named("other", r#"{{template "y"}}!"#).unwrap();
    assert_eq!(t.execute_named("other", &d).unwrap(), "y!");
    assert_eq!(
        t.execute_named("nope", &d).unwrap_err().to_string(),
        r#"template: no template "nope" associated with template "test""#
    );
    let empty = Template::new("e", Funcs::new());
    assert_eq!(
        empty.execute(&d).unwrap_err().to_string(),
        r#"template: e: "e" is an incomplete or empty template"#
    );
    assert_eq!(
        go_err(r#"{{template "zz"}}"#, &d),
        r#"template: test:1:11: executing "test" at <{{template "zz"}}>: template "zz" not defined"#
    );
    assert_eq!(
        parse_err(r#"{{define "a"}}a{{end}}{{define "a"}}b{{end}}"#),
        r#"template: test:1: template: multiple definition of template "a""#
    );
    // Errors inside a defined template name it and point into the text it was parsed from.
    assert_eq!(
        go_err("{{define \"d\"}}\n  {{.Str.X}}{{end}}{{template \"d\" .}}", &d),
        r#"template: test:2:8: executing "d" at <.Str.X>: can't evaluate field X in type string"#
    );
    // Recursion is bounded.
    let mut t = tmpl(
        Funcs::new(),
        r#"{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}"#,
    );
    t.set_limits(Limits {
        max_depth: 50,
        ..Limits::default()
    });
    assert!(
        t.execute(&d)
            .unwrap_err()
            .to_string()
            .ends_with("exceeded maximum template depth (50)")
    );
}

#[test]
fn deep_recursion_fits_the_stack() {
    // The default depth limit must be reached before a 2 MiB thread stack (tokio's) overflows.
    let h = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let t = tmpl(
                prometheus::funcs(),
                r#"{{define "r"}}{{if .}}{{with .}}{{range $i := 1}}{{template "r" (print "x")}}{{end}}{{end}}{{end}}{{end}}{{template "r" 1}}"#,
            );
            t.execute(&Value::Missing).unwrap_err().to_string()
        })
        .unwrap();
    assert!(
        h.join()
            .unwrap()
            .ends_with("exceeded maximum template depth (300)")
    );
    let h = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let deep = format!("{}1{}", "(".repeat(190), ")".repeat(190));
            let t = tmpl(prometheus::funcs(), &format!("{{{{print {deep}}}}}"));
            let ifs = format!("{}x{}", "{{if 1}}".repeat(190), "{{end}}".repeat(190));
            let t2 = tmpl(prometheus::funcs(), &ifs);
            (
                t.execute(&Value::Missing).unwrap(),
                t2.execute(&Value::Missing).unwrap(),
            )
        })
        .unwrap();
    let (a, b) = h.join().unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("1", "x"));
    assert_eq!(
        parse_err(&format!("{{{{{}1", "(".repeat(300))),
        "template: test:1: max expression depth exceeded"
    );
}

// ---------------------------------------------------------------------------------------------
// Pipelines, parentheses, chains

#[test]
fn pipelines() {
    let d = data();
    assert_eq!(go(r#"{{"a" | printf "%s-%s" "b"}}"#, &d), "b-a");
    assert_eq!(go(r#"{{.SI | len | printf "%d items"}}"#, &d), "3 items");
    assert_eq!(go(r#"{{(index .SI 1) | print}}"#, &d), "4");
    assert_eq!(go(r#"{{printf "%d" (len .SI)}}"#, &d), "3");
    assert_eq!(go(r#"{{(.Nested).Inner.X}}"#, &d), "7");
    assert_eq!(go(r#"{{$m := .Nested}}{{($m.Inner).X}}"#, &d), "7");
    assert_eq!(go(r#"{{with $x := 3 | print}}{{$x}}{{end}}"#, &d), "3");
    assert_eq!(
        parse_err(r#"{{.SI | 1}}"#),
        "template: test:1: non executable command in pipeline stage 2"
    );
    assert_eq!(
        parse_err(r#"{{.SI | len | "x"}}"#),
        "template: test:1: non executable command in pipeline stage 3"
    );
    assert_eq!(
        go_err(r#"{{1 | .Str}}"#, &d),
        r#"template: test:1:6: executing "test" at <.Str>: Str is not a method but has arguments"#
    );
    assert_eq!(
        go_err(r#"{{nil}}"#, &d),
        r#"template: test:1:2: executing "test" at <nil>: nil is not a command"#
    );
    assert_eq!(
        go_err(r#"{{.Str | (1)}}"#, &d),
        r#"template: test:1:2: executing "test" at <.Str>: can't give argument to non-function 1"#
    );
    assert_eq!(
        go_err(r#"{{$x := 1}}{{$x 2}}"#, &d),
        r#"template: test:1:13: executing "test" at <$x>: can't give argument to non-function $x"#
    );
    assert_eq!(
        go_err(r#"{{(nil).X}}"#, &d),
        r#"template: test:1:3: executing "test" at <nil>: nil is not a command"#
    );
}

// ---------------------------------------------------------------------------------------------
// Builtin functions

#[test]
fn logic_builtins() {
    let d = data();
    assert_eq!(
        go(
            "{{and 1 0}} {{and 1 1}} {{and 0 1}} {{or 0 1}} {{or 0 \"\"}}| {{or 2 3}}",
            &d
        ),
        "0 1 0 1 | 2"
    );
    assert_eq!(
        go("{{not 0}} {{not 1}} {{not .Empty}} {{not .Nope}}", &d),
        "true false true true"
    );
    // and/or stop at the deciding argument: the later ones are not evaluated.
    assert_eq!(go("{{or 1 .Str.Nope}} {{and 0 .Str.Nope}}", &d), "1 0");
    assert_eq!(go("{{1 | and .T}} {{0 | or .F}}", &d), "1 0");
    assert_eq!(
        go_err("{{and}}", &d),
        r#"template: test:1:2: executing "test" at <and>: wrong number of args for and: want at least 1 got 0"#
    );
    assert_eq!(
        go_err("{{not 1 2}}", &d),
        r#"template: test:1:2: executing "test" at <not>: wrong number of args for not: want 1 got 2"#
    );
}

#[test]
fn comparison_builtins() {
    let d = data();
    assert_eq!(
        go(
            "{{eq 1 1}} {{eq 1 2}} {{eq 1 2 3 1}} {{eq \"a\" \"a\"}} {{eq .Str \"hello\"}} {{eq 1.5 1.5}} {{eq true true}}",
            &d
        ),
        "true false true true true true true"
    );
    assert_eq!(
        go(
            "{{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 2 2}} {{lt \"a\" \"b\"}} {{lt 1.5 2.5}}",
            &d
        ),
        "true true true false true true true"
    );
    assert_eq!(
        go(
            "{{eq .Nope \"x\"}} {{eq .Nope .Nope}} {{eq .Labels.job \"node\"}}",
            &d
        ),
        "false true true"
    );
    assert_eq!(
        go(
            r#"{{eq (safeHtml "a") "a"}}"#.replace("safeHtml", "print").as_str(),
            &d
        ),
        "true"
    );
    let err = |t: &str| go_err(t, &d).rsplit(": ").next().unwrap_or_default().to_string();
    assert_eq!(err("{{eq 1 1.0}}"), "incompatible types for comparison");
    assert_eq!(err("{{lt 1 \"a\"}}"), "incompatible types for comparison");
    assert_eq!(err("{{lt true false}}"), "invalid type for comparison");
    assert_eq!(err("{{lt .SI 1}}"), "invalid type for comparison");
    assert_eq!(err("{{eq 1}}"), "missing argument for comparison");
    assert_eq!(
        go_err("{{eq 1 1.0}}", &d),
        r#"template: test:1:2: executing "test" at <eq 1 1.0>: error calling eq: incompatible types for comparison"#
    );
    assert!(
        go_err("{{eq .SI .SI}}", &d)
            .ends_with("error calling eq: non-comparable type [3 4 5]: []interface {}")
    );
}

#[test]
fn index_slice_len() {
    let d = data();
    assert_eq!(
        go(
            "{{index .SI 0}} {{index .Labels \"job\"}} {{index .Nested \"Inner\" \"X\"}} {{index .SI}}",
            &d
        ),
        "3 node 7 [3 4 5]"
    );
    assert_eq!(
        go("{{index .Labels \"nope\"}}|{{index .Nested \"nope\"}}", &d),
        "|<no value>"
    );
    assert_eq!(go("{{index \"abc\" 1}}", &d), "98");
    assert_eq!(
        go(
            "{{slice .SI 1}} {{slice .SI 1 2}} {{slice .SI}} {{slice \"abcde\" 1 3}} {{slice .SI 0 1 2}}",
            &d
        ),
        "[4 5] [4] [3 4 5] bc [3]"
    );
    assert_eq!(
        go("{{len .SI}} {{len .Labels}} {{len \"héllo\"}} {{len .Empty}}", &d),
        "3 2 6 0"
    );
    let err = |t: &str| {
        go_err(t, &d)
            .split(": error calling ")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(err("{{index .SI 5}}"), "index: index out of range: 5");
    assert_eq!(err("{{index .SI 3}}"), "index: reflect: slice index out of range");
    assert_eq!(err("{{index .SI -1}}"), "index: index out of range: -1");
    assert_eq!(
        err("{{index .SI \"a\"}}"),
        "index: cannot index slice/array with type string"
    );
    assert_eq!(
        err("{{index .Labels 1}}"),
        "index: value has type int; should be string"
    );
    assert_eq!(err("{{index 1 1}}"), "index: can't index item of type int");
    assert_eq!(err("{{index .Nope 1}}"), "index: index of untyped nil");
    assert_eq!(err("{{slice .SI 2 1}}"), "slice: invalid slice index: 2 > 1");
    assert_eq!(
        err("{{slice \"abc\" 0 1 2}}"),
        "slice: cannot 3-index slice a string"
    );
    assert_eq!(err("{{len 3}}"), "len: len of type int");
}

#[test]
fn print_and_escape_builtins() {
    let d = data();
    assert_eq!(go(r#"{{print 1 2 "x" 3 "y" "z"}}"#, &d), "1 2x3yz");
    assert_eq!(go(r#"{{print 1.5 true nil .SI}}"#, &d), "1.5 true <nil> [3 4 5]");
    assert_eq!(go(r#"{{println 1 "a"}}"#, &d), "1 a\n");
    assert_eq!(go(r#"{{print .Nope}} {{printf "%v" .Nope}}"#, &d), "<nil> <nil>");
    assert_eq!(
        go(r#"{{html "<a href=\"x\">'&'</a>"}}"#, &d),
        "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
    assert_eq!(go(r#"{{html .Nope}}"#, &d), "&lt;no value&gt;");
    assert_eq!(
        go(r#"{{js "It's <b> \"x\" & y=1\\"}}"#, &d),
        r#"It\'s \u003Cb\u003E \"x\" \u0026 y\u003D1\\"#
    );
    assert_eq!(go(r#"{{urlquery "a b&c/d?é"}}"#, &d), "a+b%26c%2Fd%3F%C3%A9");
    assert_eq!(go(r#"{{"a b" | urlquery}}"#, &d), "a+b");
    assert_eq!(
        go_err(r#"{{call 1}}"#, &d),
        r#"template: test:1:2: executing "test" at <call 1>: error calling call: non-function of type int"#
    );
}

// ---------------------------------------------------------------------------------------------
// fmt

#[test]
fn float_formatting() {
    let v = |x: f64| value_string(&Value::Float(x));
    assert_eq!(v(1e6), "1e+06");
    assert_eq!(v(100000.0), "100000");
    assert_eq!(v(123456.0), "123456");
    assert_eq!(v(1234567.0), "1.234567e+06");
    assert_eq!(v(123456789.0), "1.23456789e+08");
    assert_eq!(v(1.5e-7), "1.5e-07");
    assert_eq!(v(0.0001), "0.0001");
    assert_eq!(v(0.00001), "1e-05");
    assert_eq!(v(1e21), "1e+21");
    assert_eq!(v(1e100), "1e+100");
    assert_eq!(v(0.1 + 0.2), "0.30000000000000004");
    assert_eq!(v(3.0), "3");
    assert_eq!(v(-2.5), "-2.5");
    assert_eq!(v(0.0), "0");
    assert_eq!(v(-0.0), "-0");
    assert_eq!(v(f64::NAN), "NaN");
    assert_eq!(v(f64::INFINITY), "+Inf");
    assert_eq!(v(f64::NEG_INFINITY), "-Inf");
    assert_eq!(v(5e-324), "5e-324");
    assert_eq!(v(f64::MAX), "1.7976931348623157e+308");
}

#[test]
fn printf_verbs() {
    let f = Value::Float;
    let i = Value::Int;
    assert_eq!(printf("%.2f", &[f(2.675)]), "2.67");
    assert_eq!(
        printf("%.0f %.0f %.0f %.1f", &[f(0.5), f(1.5), f(2.5), f(0.25)]),
        "0 2 2 0.2"
    );
    assert_eq!(printf("%f", &[f(4.56789)]), "4.567890");
    assert_eq!(printf("%e", &[f(1234.5678)]), "1.234568e+03");
    assert_eq!(printf("%E", &[f(0.000123)]), "1.230000E-04");
    assert_eq!(printf("%g", &[f(1234.5678)]), "1234.5678");
    assert_eq!(printf("%.3g", &[f(1234.5678)]), "1.23e+03");
    assert_eq!(printf("%.4g", &[f(1.0)]), "1");
    assert_eq!(printf("%.4g", &[f(100.0)]), "100");
    assert_eq!(printf("%.4g", &[f(0.0)]), "0");
    assert_eq!(printf("%.4g", &[f(123456.0)]), "1.235e+05");
    assert_eq!(printf("%G", &[f(1e-10)]), "1E-10");
    assert_eq!(
        printf("%8.3f|%-8.3f|%08.3f", &[f(4.56789), f(4.56789), f(-4.56789)]),
        "   4.568|4.568   |-004.568"
    );
    assert_eq!(printf("%+.2e", &[f(12345.678)]), "+1.23e+04");
    assert_eq!(printf("% .1f", &[f(2.0)]), " 2.0");
    assert_eq!(
        printf(
            "%5.1f|%05.1f|%+.1f",
            &[f(f64::NAN), f(f64::INFINITY), f(f64::NAN)]
        ),
        "  NaN| +Inf|+NaN"
    );
    assert_eq!(printf("%6.2f%%", &[f(99.5)]), " 99.50%");
    assert_eq!(
        printf(
            "%d %+d % d %05d %x %X %#x %o %#o %b %c %q %U %#U",
            &[
                i(42),
                i(5),
                i(5),
                i(-42),
                i(255),
                i(255),
                i(255),
                i(8),
                i(8),
                i(5),
                i(65),
                i(65),
                i(0x1F600),
                i(65)
            ]
        ),
        "42 +5  5 -0042 ff FF 0xff 10 010 101 A 'A' U+1F600 U+0041 'A'"
    );
    assert_eq!(
        printf("%x %.3d %8.3d|%-5d|", &[i(-255), i(7), i(7), i(3)]),
        "-ff 007      007|3    |"
    );
    assert_eq!(
        printf(
            "%s|%10s|%-10s|%.3s|%q|%x|% x|%X",
            &[
                s("abc"),
                s("abc"),
                s("abc"),
                s("abcdef"),
                s("a\"b\n"),
                s("hi"),
                s("hi"),
                s("hi")
            ]
        ),
        "abc|       abc|abc       |abc|\"a\\\"b\\n\"|6869|68 69|6869"
    );
    assert_eq!(printf("%#q %+q", &[s("a`b"), s("é")]), "\"a`b\" \"\\u00e9\"");
    assert_eq!(printf("%#q", &[s("ab")]), "`ab`");
    assert_eq!(
        printf(
            "%t %5t %v",
            &[Value::Bool(true), Value::Bool(false), Value::Bool(true)]
        ),
        "true false true"
    );
    assert_eq!(printf("%v %v %v", &[i(1), f(1.0), s("x")]), "1 1 x");
    assert_eq!(
        printf(
            "%T %T %T %T %T",
            &[i(1), f(1.0), s("x"), Value::list([]), Value::Missing]
        ),
        "int float64 string []interface {} <nil>"
    );
    assert_eq!(
        printf("%v %d", &[strs(&["a", "b"]), ints(&[1, 2])]),
        "[a b] [1 2]"
    );
    assert_eq!(
        printf("%v", &[Value::map([("b", i(2)), ("a", i(1))])]),
        "map[a:1 b:2]"
    );
    assert_eq!(printf("%#v %#v", &[s("x"), i(3)]), "\"x\" 3");
    assert_eq!(printf("%[2]d %[1]d", &[i(1), i(2)]), "2 1");
    assert_eq!(
        printf("%*d|%-*d|%.*f", &[i(5), i(42), i(5), i(42), i(2), f(4.56789)]),
        "   42|42   |4.57"
    );
    assert_eq!(printf("%%", &[]), "%");
}

#[test]
fn printf_errors() {
    let i = Value::Int;
    assert_eq!(printf("%d", &[s("foo")]), "%!d(string=foo)");
    assert_eq!(printf("%s", &[i(5)]), "%!s(int=5)");
    assert_eq!(printf("%f", &[i(1)]), "%!f(int=1)");
    assert_eq!(printf("%d", &[Value::Float(1.5)]), "%!d(float64=1.5)");
    assert_eq!(printf("%z", &[i(1)]), "%!z(int=1)");
    assert_eq!(printf("%s", &[Value::Nil]), "%!s(<nil>)");
    assert_eq!(printf("%v", &[Value::Nil]), "<nil>");
    assert_eq!(printf("%d", &[]), "%!d(MISSING)");
    assert_eq!(printf("%d %d", &[i(1)]), "1 %!d(MISSING)");
    assert_eq!(printf("%d", &[i(1), i(2), s("x")]), "1%!(EXTRA int=2, string=x)");
    assert_eq!(printf("hi", &[Value::Nil]), "hi%!(EXTRA <nil>)");
    assert_eq!(printf("%", &[]), "%!(NOVERB)");
    assert_eq!(printf("%[3]d", &[i(1)]), "%!d(BADINDEX)");
    assert_eq!(printf("%*d", &[s("x"), i(1)]), "%!(BADWIDTH)1");
    assert_eq!(printf("%.*d", &[s("x"), i(1)]), "%!(BADPREC)1");
    assert_eq!(printf("%d", &[strs(&["a"])]), "[%!d(string=a)]");
    assert_eq!(printf("%t", &[i(1)]), "%!t(int=1)");
    assert_eq!(printf("%99999999d", &[i(1)]), "%!(NOVERB)%!(EXTRA int=1)");
}

// ---------------------------------------------------------------------------------------------
// Time and durations

#[test]
fn durations() {
    let d = |ns: i64| Value::Duration(ns).clone();
    let p = |ns: i64| value_string(&d(ns));
    assert_eq!(p(0), "0s");
    assert_eq!(p(1), "1ns");
    assert_eq!(p(1500), "1.5µs");
    assert_eq!(p(1_500_000), "1.5ms");
    assert_eq!(p(1_000_000_000), "1s");
    assert_eq!(p(90_000_000_000), "1m30s");
    assert_eq!(p(3_600_000_000_000), "1h0m0s");
    assert_eq!(p(3_723_500_000_000), "1h2m3.5s");
    assert_eq!(p(-90_000_000_000), "-1m30s");
    assert_eq!(p(360_000_000_000_000), "100h0m0s");
    assert_eq!(p(i64::MIN), "-2562047h47m16.854775808s");
    let data = Value::map([("D", d(5_400_000_000_000))]);
    assert_eq!(
        go(
            "{{.D}} {{.D.Hours}} {{.D.Minutes}} {{.D.Seconds}} {{.D.Milliseconds}} {{printf \"%d\" .D}}",
            &data
        ),
        "1h30m0s 1.5 90 5400 5400000 5400000000000"
    );
    assert_eq!(go("{{if .D}}t{{end}} {{eq .D 5400000000000}}", &data), "t true");
}

#[test]
fn time_format_and_methods() {
    // The Go playground's time: 2009-11-10 23:00:00 UTC.
    let t = Time::from_unix(1_257_894_000, 0);
    let f = |layout: &str| t.format(layout);
    assert_eq!(f("2006-01-02T15:04:05Z07:00"), "2009-11-10T23:00:00Z");
    assert_eq!(f("Mon Jan _2 15:04:05 2006"), "Tue Nov 10 23:00:00 2009");
    assert_eq!(f("Mon Jan _2 15:04:05 MST 2006"), "Tue Nov 10 23:00:00 UTC 2009");
    assert_eq!(f("02 Jan 06 15:04 -0700"), "10 Nov 09 23:00 +0000");
    assert_eq!(
        f("Monday, 02-Jan-06 15:04:05 MST"),
        "Tuesday, 10-Nov-09 23:00:00 UTC"
    );
    assert_eq!(f("3:04PM"), "11:00PM");
    assert_eq!(f("Jan 2, 2006 at 3:04pm (MST)"), "Nov 10, 2009 at 11:00pm (UTC)");
    assert_eq!(
        f("January Janet 1 01 2 _2 02 __2 002 15 3 03 4 04 5 05 PM pm"),
        "November Janet 11 11 10 10 10 314 314 23 11 11 0 00 0 00 PM pm"
    );
    assert_eq!(
        f("Z07:00 Z0700 Z07 -07 -07:00 -0700 -07:00:00 -070000"),
        "Z Z Z +00 +00:00 +0000 +00:00:00 +000000"
    );
    assert_eq!(f("2006_2006 _2006"), "2009_2009 _2009");
    let z = t.in_zone(Zone::fixed("IST", 5 * 3600 + 1800));
    assert_eq!(z.go_string(), "2009-11-11 04:30:00 +0530 IST");
    assert_eq!(z.format("Z07:00 Z0700 -07 MST"), "+05:30 +0530 +05 IST");
    let w = t.in_zone(Zone::fixed("", -(3 * 3600 + 30 * 60 + 15)));
    assert_eq!(w.format("-07:00:00 MST Z070000"), "-03:30:15 -0330 -033015");
    let n = Time::from_unix(1_257_894_000, 123_456_789);
    assert_eq!(
        n.format("05.000 05,000000 05.999999999 05.9 .00 15:04:05.999"),
        "00.123 00,123456 00.123456789 00.1 .12 23:00:00.123"
    );
    assert_eq!(t.format("15:04:05.999 .000"), "23:00:00 .000");
    assert_eq!(n.go_string(), "2009-11-10 23:00:00.123456789 +0000 UTC");
    assert_eq!(Time::from_unix(0, 0).go_string(), "1970-01-01 00:00:00 +0000 UTC");
    assert_eq!(
        Time::from_unix(-1, 0).go_string(),
        "1969-12-31 23:59:59 +0000 UTC"
    );
    assert_eq!(Time::zero().go_string(), "0001-01-01 00:00:00 +0000 UTC");
    assert_eq!(
        Time::from_unix(951_782_400, 0).format("2006-01-02 Monday 002"),
        "2000-02-29 Tuesday 060"
    );
    assert_eq!(
        Time::from_unix(1_704_412_800, 0).format("__2|002|_2"),
        "  5|005| 5"
    );
    let data = Value::map([("T", Value::Time(n.clone())), ("U", Value::Time(t.clone()))]);
    assert_eq!(
        go(
            "{{.T.Year}} {{.T.Month}} {{.T.Day}} {{.T.Hour}} {{.T.Minute}} {{.T.Second}} {{.T.Weekday}} {{.T.YearDay}} {{.T.Unix}} {{.T.UnixNano}}",
            &data
        ),
        "2009 November 10 23 0 0 Tuesday 314 1257894000 1257894000123456789"
    );
    assert_eq!(
        go(
            "{{.T.Format \"2006\"}} {{\"Jan\" | .T.Format}} {{.T.UTC}} {{.T.IsZero}}",
            &data
        ),
        "2009 Nov 2009-11-10 23:00:00.123456789 +0000 UTC false"
    );
    assert_eq!(
        go(
            "{{.T.Sub .U}} {{.U.Before .T}} {{.U.After .T}} {{.T.Equal .T}} {{(.U.Add (.T.Sub .U)).Equal .T}}",
            &data
        ),
        "123.456789ms true false true true"
    );
    assert_eq!(
        go("{{eq .T.Month 11}} {{printf \"%d %v\" .T.Month .T.Month}}", &data),
        "true 11 November"
    );
    assert_eq!(
        go_err("{{.T.Format}}", &data),
        r#"template: test:1:4: executing "test" at <.T.Format>: wrong number of args for Format: want 1 got 0"#
    );
    assert_eq!(
        go_err("{{.T.Format 1}}", &data),
        r#"template: test:1:12: executing "test" at <1>: wrong type for value; expected string; got int"#
    );
}

#[test]
fn civil_dates_round_trip() {
    for days in (-800_000i64..800_000).step_by(997) {
        let (y, m, d) = crate::time::civil_from_days(days);
        assert_eq!(crate::time::days_from_civil(y, m, d), days);
    }
    assert_eq!(crate::time::civil_from_days(0), (1970, 1, 1));
    assert_eq!(crate::time::civil_from_days(-719_162), (1, 1, 1));
}

// ---------------------------------------------------------------------------------------------
// Parse errors

#[test]
fn parse_errors() {
    assert_eq!(parse_err("{{"), "template: test:1: unclosed action");
    assert_eq!(
        parse_err("{{ .Foo }"),
        r#"template: test:1: unexpected "}" in operand"#
    );
    assert_eq!(
        parse_err("{{ foo }}"),
        r#"template: test:1: function "foo" not defined"#
    );
    assert_eq!(parse_err("{{ }}"), "template: test:1: missing value for command");
    assert_eq!(
        parse_err("{{range}}{{end}}"),
        "template: test:1: missing value for range"
    );
    assert_eq!(parse_err("{{if true}}x"), "template: test:1: unexpected EOF");
    assert_eq!(parse_err("a\n{{end}}"), "template: test:2: unexpected {{end}}");
    assert_eq!(parse_err("{{else}}"), "template: test:1: unexpected {{else}}");
    assert_eq!(
        parse_err("{{if 1}}{{else}}{{else}}{{end}}"),
        "template: test:1: expected end; found {{else}}"
    );
    assert_eq!(
        parse_err("{{template}}"),
        r#"template: test:1: unexpected "}}" in template clause"#
    );
    assert_eq!(
        parse_err("{{template .X}}"),
        r#"template: test:1: unexpected ".X" in template clause"#
    );
    assert_eq!(
        parse_err("{{define 1}}{{end}}"),
        r#"template: test:1: unexpected "1" in define clause"#
    );
    assert_eq!(
        parse_err(r#"{{define "a"}}x{{else}}{{end}}"#),
        "template: test:1: unexpected {{else}} in define clause"
    );
    assert_eq!(
        parse_err("{{3x}}"),
        r#"template: test:1: bad number syntax: "3x""#
    );
    assert_eq!(
        parse_err("{{99999999999999999999}}"),
        r#"template: test:1: integer overflow: "99999999999999999999""#
    );
    assert_eq!(
        parse_err("{{1.2.3}}"),
        r#"template: test:1: unexpected ".3" in operand"#
    );
    assert_eq!(
        parse_err(r#"{{"abc}}"#),
        "template: test:1: unterminated quoted string"
    );
    assert_eq!(
        parse_err("{{'a}}"),
        "template: test:1: unterminated character constant"
    );
    assert_eq!(
        parse_err("{{`abc}}"),
        "template: test:1: unterminated raw quoted string"
    );
    assert_eq!(parse_err("{{/* abc }}"), "template: test:1: unclosed comment");
    assert_eq!(
        parse_err("{{/* a */ 1}}"),
        "template: test:1: comment ends before closing delimiter"
    );
    assert_eq!(parse_err("{{ ( 1 }}"), "template: test:1: unclosed left paren");
    assert_eq!(parse_err("{{ ) }}"), "template: test:1: unexpected right paren");
    assert_eq!(
        parse_err("{{ \u{a0}}}"),
        "template: test:1: unrecognized character in action: U+00A0"
    );
    assert_eq!(
        parse_err("{{ ¿ }}"),
        "template: test:1: unrecognized character in action: U+00BF '¿'"
    );
    assert_eq!(
        parse_err("{{.x=1}}"),
        "template: test:1: bad character U+003D '='"
    );
    assert_eq!(parse_err("{{ 1 : 2 }}"), "template: test:1: expected :=");
    assert_eq!(
        parse_err("{{ \"a\".b }}"),
        r#"template: test:1: unexpected . after term "\"a\"""#
    );
    assert_eq!(
        parse_err("{{ 1.x }}"),
        r#"template: test:1: bad number syntax: "1.x""#
    );
    assert_eq!(
        parse_err("{{ 'ab' }}"),
        "template: test:1: malformed character constant: 'ab'"
    );
    assert_eq!(parse_err("{{ '' }}"), "template: test:1: invalid syntax");
    assert_eq!(parse_err("{{ \"\\q\" }}"), "template: test:1: invalid syntax");
    assert_eq!(
        parse_err("{{ 1i }}"),
        r#"template: test:1: complex numbers are not supported: "1i""#
    );
    assert_eq!(
        parse_err("{{ printf \"%d\" () }}"),
        "template: test:1: missing value for parenthesized pipeline"
    );
    assert_eq!(
        parse_err("{{ .X | }}x{{ if }}"),
        "template: test:1: missing value for if"
    );
    assert_eq!(
        parse_err("x\n\n{{ if\n\n 1 "),
        "template: test:5: unclosed action started at test:3"
    );
    assert_eq!(
        parse_err("{{ $x := 1 2 := 3 }}"),
        r#"template: test:1: unexpected ":=" in operand"#
    );
    assert_eq!(
        parse_err("{{ with }}"),
        "template: test:1: missing value for with"
    );
    assert_eq!(
        parse_err("{{ end 1 }}"),
        r#"template: test:1: unexpected "1" in end"#
    );
    assert_eq!(
        parse_err("{{ 1 + }}"),
        r#"template: test:1: illegal number syntax: "+""#
    );
    assert_eq!(
        parse_err("{{ nil.X }}"),
        r#"template: test:1: unexpected . after term "nil""#
    );
    assert_eq!(
        parse_err("{{ if 1 }}{{ \"abcdefghijklmnop\" | }}"),
        "template: test:1: unexpected EOF"
    );
}

/// The cases of Go's `parse_test.go` `errorTests`: the template name is the case name, and the
/// message must contain the expected text.
#[test]
fn go_parse_error_cases() {
    let cases = [
        ("unclosed1", "line1\n{{", "unclosed1:2: unclosed action"),
        (
            "unclosed2",
            "line1\n{{define `x`}}line2\n{{",
            "unclosed2:3: unclosed action",
        ),
        (
            "unclosed3",
            "line1\n{{\"x\"\n\"y\"\n",
            "unclosed3:4: unclosed action started at unclosed3:2",
        ),
        (
            "unclosed4",
            "{{\n\n\n\n\n",
            "unclosed4:6: unclosed action started at unclosed4:1",
        ),
        ("var1", "line1\n{{\nx\n}}", "var1:3: function \"x\" not defined"),
        ("function", "{{foo}}", "function \"foo\" not defined"),
        ("comment1", "{{/*}}", "comment1:1: unclosed comment"),
        ("comment2", "{{/*\nhello\n}}", "comment2:1: unclosed comment"),
        ("lparen", "{{.X (1 2 3}}", "unclosed left paren"),
        ("rparen", "{{.X 1 2 3 ) }}", "unexpected right paren"),
        ("rparen2", "{{(.X 1 2 3", "unclosed action"),
        ("space", "{{`x`3}}", "in operand"),
        ("idchar", "{{a#}}", "'#'"),
        ("charconst", "{{'a}}", "unterminated character constant"),
        ("stringconst", "{{\"a}}", "unterminated quoted string"),
        ("rawstringconst", "{{`a}}", "unterminated raw quoted string"),
        ("number", "{{0xi}}", "number syntax"),
        (
            "multidefine",
            "{{define `a`}}a{{end}}{{define `a`}}b{{end}}",
            "multiple definition of template",
        ),
        ("eof", "{{range .X}}", "unexpected EOF"),
        (
            "variable",
            "{{$x := 23}}{{with $x.y := 3}}{{$x 23}}{{end}}",
            "unexpected \":=\"",
        ),
        ("multidecl", "{{$a,$b,$c := 23}}", "too many declarations"),
        ("undefvar", "{{$a}}", "undefined variable"),
        ("wrongdot", "{{true.any}}", "unexpected . after term"),
        (
            "wrongpipeline",
            "{{12|false}}",
            "non executable command in pipeline",
        ),
        (
            "emptypipeline",
            "{{ ( ) }}",
            "missing value for parenthesized pipeline",
        ),
        (
            "multilinerawstring",
            "{{ $v := `\n` }} {{",
            "multilinerawstring:2: unclosed action",
        ),
        ("rangeundefvar", "{{range $k}}{{end}}", "undefined variable"),
        ("rangeundefvars", "{{range $k, $v}}{{end}}", "undefined variable"),
        (
            "rangemissingvalue1",
            "{{range $k,}}{{end}}",
            "missing value for range",
        ),
        (
            "rangemissingvalue2",
            "{{range $k, $v := }}{{end}}",
            "missing value for range",
        ),
        (
            "rangenotvariable1",
            "{{range $k, .}}{{end}}",
            "range can only initialize variables",
        ),
        (
            "rangenotvariable2",
            "{{range $k, 123 := .}}{{end}}",
            "range can only initialize variables",
        ),
    ];
    for (name, text, want) in cases {
        let mut t = Template::new(name, Funcs::new());
        let err = t.parse(text).expect_err(name).to_string();
        assert!(err.contains(want), "{name}: {err:?} does not contain {want:?}");
    }
}

#[test]
fn long_tokens_are_abbreviated_in_errors() {
    assert_eq!(
        parse_err(r#"{{define "abc" "0123456789abcdef"}}"#),
        r#"template: test:1: unexpected "\"012345678"... in define clause"#
    );
    assert_eq!(
        parse_err("{{define `abc` end}}"),
        r#"template: test:1: unexpected <end> in define clause"#
    );
}

// ---------------------------------------------------------------------------------------------
// HTML mode

#[test]
fn html_mode() {
    let d = data();
    assert_eq!(prom_html("{{ \"<b>\" }}", &d), "&lt;b&gt;");
    assert_eq!(prom_html("{{ \"<b>\" | safeHtml }}", &d), "<b>");
    assert_eq!(
        prom_html("<p>{{ \"a+b & 'c' \\\"d\\\"\" }}</p>", &d),
        "<p>a&#43;b &amp; &#39;c&#39; &#34;d&#34;</p>"
    );
    assert_eq!(prom_html("{{ .Foo }}|{{ .Nil }}|{{ .Labels.nope }}", &d), "||");
    assert_eq!(prom("{{ \"<b>\" }}", &d), "<b>");
    assert_eq!(prom("{{ \"<b>\" | safeHtml }}", &d), "<b>");
}

// ---------------------------------------------------------------------------------------------
// Limits

#[test]
fn output_and_steps_are_bounded() {
    let limits = Limits {
        max_depth: 100,
        max_output: 1000,
        max_steps: 10_000,
    };
    let run = |text: &str| {
        let mut t = tmpl(prometheus::funcs(), text);
        t.set_limits(limits);
        t.execute(&Value::Missing)
    };
    assert!(
        run("{{range 2000}}x{{end}}")
            .unwrap_err()
            .to_string()
            .ends_with("output exceeds 1000 bytes")
    );
    assert!(
        run("{{range 100000}}{{end}}")
            .unwrap_err()
            .to_string()
            .ends_with("execution exceeded 10000 steps")
    );
    assert!(
        run(r#"{{$x := "ab"}}{{range 20}}{{$x = print $x $x}}{{end}}"#)
            .unwrap_err()
            .to_string()
            .ends_with("string result exceeds 1000 bytes")
    );
    assert_eq!(run("{{range 10}}x{{end}}").unwrap(), "xxxxxxxxxx");
}

// ---------------------------------------------------------------------------------------------
// Prometheus: the cases of Prometheus's template_test.go

fn metric(labels: &[(&str, &str)], v: f64) -> Value {
    let mut l: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    l.insert("__name__".to_string(), "metric".to_string());
    prometheus::sample(l, v)
}

fn with_query(result: Vec<Value>) -> Funcs {
    let mut fs = prometheus::funcs_with("http://testhost:9090/path/prefix", 0);
    let r = prometheus::query_result(result);
    fs.insert_with_arity(
        "query",
        Arity::Exact(1),
        Arc::new(move |_: &[Value]| Ok(r.clone())),
    );
    fs
}

fn query(text: &str, result: Vec<Value>) -> std::result::Result<String, String> {
    let mut t = Template::new("test", with_query(result));
    t.set_missing_key(MissingKey::Zero);
    t.parse(text).map_err(|e| e.to_string())?;
    t.execute(&Value::Missing).map_err(|e| e.to_string())
}

#[test]
fn prometheus_queries() {
    let q = |text: &str, r: Vec<Value>| query(text, r).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(
        q(
            r#"{{ query "1.5" | first | value }}"#,
            vec![prometheus::sample(BTreeMap::new(), 1.5)]
        ),
        "1.5"
    );
    assert_eq!(
        q(
            r#"{{ query "metric{instance='a'}" | first | value }}"#,
            vec![metric(&[("instance", "a")], 11.0)]
        ),
        "11"
    );
    assert_eq!(
        q(
            r#"{{ query "metric{instance='a'}" | first | label "instance" }}"#,
            vec![metric(&[("instance", "a")], 11.0)]
        ),
        "a"
    );
    assert_eq!(
        q(
            r#"{{ query "metric{__value__='a'}" | first | strvalue }}"#,
            vec![metric(&[("__value__", "a")], 11.0)]
        ),
        "a"
    );
    assert_eq!(
        q(
            r#"{{ query "metric{instance='a'}" | first | label "foo" }}"#,
            vec![metric(&[("instance", "a")], 11.0)]
        ),
        ""
    );
    assert_eq!(
        q(
            r#"{{ $x := query "metric" | first }}{{ $x.Labels.foo }}"#,
            vec![metric(&[("instance", "a")], 11.0)]
        ),
        ""
    );
    assert_eq!(
        q(
            r#"{{ range query "metric" | sortByLabel "instance" }}{{.Labels.instance}}:{{.Value}}: {{end}}"#,
            vec![
                metric(&[("instance", "b")], 21.0),
                metric(&[("instance", "a")], 11.0)
            ]
        ),
        "a:11: b:21: "
    );
    assert_eq!(
        query(r#"{{ query "missing" | first }}"#, vec![]).unwrap_err(),
        r#"template: test:1:21: executing "test" at <first>: error calling first: first() called on vector with no elements"#
    );
    assert_eq!(
        query(r#"{{ (query "missing").banana }}"#, vec![]).unwrap_err(),
        r#"template: test:1:10: executing "test" at <"missing">: can't evaluate field banana in type template.queryResult"#
    );
    assert_eq!(
        q(
            r#"{{ with query "x" }}{{ . | first | value | humanize }}{{ end }}"#,
            vec![metric(&[], 1234.0)]
        ),
        "1.234k"
    );
    let mut html = Template::new("test", with_query(vec![metric(&[("instance", "a")], 11.0)]));
    html.set_missing_key(MissingKey::Zero);
    html.parse(r#"{{ $x := query "metric" | first }}{{ $x.Labels.foo }}"#)
        .unwrap();
    assert_eq!(html.execute_html(&Value::Missing).unwrap(), "");
}

#[test]
fn prometheus_strings_and_links() {
    let d = none();
    assert_eq!(
        prom(
            r#"{{define "x"}}{{.arg0}} {{.arg1}}{{end}}{{template "x" (args 1 "2")}}"#,
            &d
        ),
        "1 2"
    );
    assert_eq!(prom(r#"{{ reReplaceAll "(a)b" "x$1" "ab" }}"#, &d), "xa");
    assert_eq!(
        prom(r#"{{ reReplaceAll "(?P<n>\\d+)" "<${n}>" "a12b3" }}"#, &d),
        "a<12>b<3>"
    );
    assert_eq!(prom(r#"{{ "aa bb CC" | title }}"#, &d), "Aa Bb CC");
    assert_eq!(prom(r#"{{ "aa bb CC" | toUpper }}"#, &d), "AA BB CC");
    assert_eq!(prom(r#"{{ "aA bB CC" | toLower }}"#, &d), "aa bb cc");
    assert_eq!(
        prom(r#"{{ match "a+" "aa" }} {{ match "a+" "b" }}"#, &d),
        "true false"
    );
    assert_eq!(prom(r#"{{ match "^\\d+$" "١٢" }}"#, &d), "false");
    assert_eq!(prom(r#"{{ graphLink "up" }}"#, &d), "/graph?g0.expr=up&g0.tab=0");
    assert_eq!(prom(r#"{{ tableLink "up" }}"#, &d), "/graph?g0.expr=up&g0.tab=1");
    assert_eq!(
        prom(r#"{{ graphLink "rate(x{a=\"b c\"}[5m])" }}"#, &d),
        "/graph?g0.expr=rate%28x%7Ba%3D%22b+c%22%7D%5B5m%5D%29&g0.tab=0"
    );
    assert_eq!(prom("{{ pathPrefix }}", &d), "/path/prefix");
    assert_eq!(prom("{{ externalURL }}", &d), "http://testhost:9090/path/prefix");
    assert_eq!(
        prom(r#"{{ printf "%0.2f" (parseDuration "1h2m10ms") }}"#, &d),
        "3720.01"
    );
    assert_eq!(
        prom(
            r#"{{ parseDuration "1d" }} {{ parseDuration "0" }} {{ parseDuration "1w2d" }}"#,
            &d
        ),
        "86400 0 777600"
    );
    assert!(
        prom_err(r#"{{ parseDuration "1x" }}"#, &d)
            .ends_with(r#"error calling parseDuration: unknown unit "x" in duration "1x""#)
    );
    assert!(
        prom_err(r#"{{ parseDuration "1m1h" }}"#, &d)
            .ends_with(r#"error calling parseDuration: not a valid duration string: "1m1h""#)
    );
    let cases = [
        ("foo.example.com", "foo.example.com", "foo"),
        ("foo.example.com:12345", "foo.example.com", "foo:12345"),
        ("192.0.2.1", "192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1", "192.0.2.1:12345"),
        ("2001:0DB8::1", "2001:0DB8::1", "2001:0DB8::1"),
        ("[2001:0DB8::1]:12345", "2001:0DB8::1", "[2001:0DB8::1]:12345"),
        (
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
        ),
    ];
    for (input, port, domain) in cases {
        assert_eq!(
            prom(&format!("{{{{ {:?} | stripPort }}}}", input), &d),
            port,
            "stripPort {input}"
        );
        assert_eq!(
            prom(&format!("{{{{ {:?} | stripDomain }}}}", input), &d),
            domain,
            "stripDomain {input}"
        );
    }
    let rejected = prom_err(r#"{{ reReplaceAll "(" "" "" }}"#, &d);
    assert!(
        rejected.contains(r#"error calling reReplaceAll: regexp: Compile("("): error parsing regexp: "#),
        "{rejected}"
    );
    assert_eq!(
        prom_err(r#"{{ toUpper 1 }}"#, &d),
        r#"template: test:1:11: executing "test" at <1>: wrong type for value; expected string; got int"#
    );
    assert_eq!(prom("{{ now }}", &d), "0");
    assert_eq!(
        tmpl(prometheus::funcs_with("", 1_500), "{{ now }}")
            .execute(&d)
            .unwrap(),
        "1.5"
    );
}

#[test]
fn prometheus_humanize() {
    let r = |text: &str, input: Value| prom(text, &input);
    let each = |f: &str| format!("{{{{ range . }}}}{{{{ {f} . }}}}:{{{{ end }}}}");
    assert_eq!(
        r(&each("humanize"), floats(&[0.0, 1.0, 1234567.0, 0.12])),
        "0:1:1.235M:120m:"
    );
    assert_eq!(
        r(&each("humanize"), strs(&["0.0", "1.0", "1234567.0", ".12"])),
        "0:1:1.235M:120m:"
    );
    assert_eq!(
        r(&each("humanize"), ints(&[0, -1, 1, 1234567, i64::MAX])),
        "0:-1:1:1.235M:9.223E:"
    );
    assert_eq!(
        r(&each("humanize"), floats(&[1e-30, -0.0012, 1e30])),
        "1e-06y:-1.2m:1e+06Y:"
    );
    assert_eq!(
        r(&each("humanize1024"), floats(&[0.0, 1.0, 1048576.0, 0.12])),
        "0:1:1Mi:0.12:"
    );
    assert_eq!(
        r(&each("humanize1024"), strs(&["0.0", "1.0", "1048576.0", ".12"])),
        "0:1:1Mi:0.12:"
    );
    assert_eq!(
        r(&each("humanize1024"), ints(&[0, -1, 1, 1234567, i64::MAX])),
        "0:-1:1:1.177Mi:8Ei:"
    );
    assert_eq!(
        r(
            &each("humanizeDuration"),
            floats(&[
                0.0,
                1.0,
                60.0,
                3600.0,
                86400.0,
                86400.0 + 3600.0,
                -(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0),
                899.99
            ])
        ),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:"
    );
    assert_eq!(
        r(
            &each("humanizeDuration"),
            strs(&["0", "1", "60", "3600", "86400"])
        ),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:"
    );
    assert_eq!(
        r(
            &each("humanizeDuration"),
            floats(&[0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345])
        ),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    );
    assert_eq!(
        r(
            &each("humanizeDuration"),
            strs(&[".1", ".0001", ".12345", "60.1", "60.5", "1.2345", "12.345"])
        ),
        "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    );
    assert_eq!(
        r(&each("humanizeDuration"), ints(&[0, -1, 1, 1234567])),
        "0s:-1s:1s:14d 6h 56m 7s:"
    );
    let all = "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}";
    assert_eq!(
        r(all, floats(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN])),
        "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:"
    );
    assert_eq!(
        r(all, strs(&["+Inf", "-Inf", "NaN"])),
        "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:"
    );
    assert_eq!(
        r(
            "{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}",
            none()
        ),
        "-22.22%:0%:12.35%:123.5%"
    );
    assert_eq!(
        r(&each("humanizePercentage"), ints(&[0, -1, 1, 1234567, i64::MAX])),
        "0%:-100%:100%:1.235e+08%:9.223e+20%:"
    );
    assert_eq!(
        r(
            r#"{{ "-0.22222" | humanizePercentage }}:{{ "0.0" | humanizePercentage }}:{{ "0.1234567" | humanizePercentage }}:{{ "1.23456" | humanizePercentage }}"#,
            none()
        ),
        "-22.22%:0%:12.35%:123.5%"
    );
    assert_eq!(
        r(&each("humanizeTimestamp"), ints(&[0, -1, 1, 1234567, 9223372036])),
        "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:"
    );
    assert_eq!(
        r("{{ 1435065584.128 | humanizeTimestamp }}", none()),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        r(r#"{{ "1435065584.128" | humanizeTimestamp }}"#, none()),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        r(r#"{{ (1435065584.128 | toTime).Format "2006" }}"#, none()),
        "2015"
    );
    assert_eq!(
        r(r#"{{ ("1435065584.128" | toTime).Format "2006" }}"#, none()),
        "2015"
    );
    assert_eq!(
        r("{{ 1657155181 | toTime }}", none()),
        "2022-07-07 00:53:01 +0000 UTC"
    );
    assert_eq!(
        r(
            "{{ 90.5 | toDuration }} {{ (3600 | toDuration).Minutes }}",
            none()
        ),
        "1m30.5s 60"
    );
    assert_eq!(r("{{ 1 | toDuration | humanizeDuration }}", none()), "1s");
}

#[test]
fn prometheus_humanize_errors() {
    assert_eq!(
        prom_err(r#"{{ humanize "one" }}"#, &none()),
        r#"template: test:1:3: executing "test" at <humanize "one">: error calling humanize: strconv.ParseFloat: parsing "one": invalid syntax"#
    );
    assert_eq!(
        prom_err(r#"{{ humanize1024 "one" }}"#, &none()),
        r#"template: test:1:3: executing "test" at <humanize1024 "one">: error calling humanize1024: strconv.ParseFloat: parsing "one": invalid syntax"#
    );
    assert_eq!(
        prom_err(r#"{{ humanizeDuration "one" }}"#, &none()),
        r#"template: test:1:3: executing "test" at <humanizeDuration "one">: error calling humanizeDuration: strconv.ParseFloat: parsing "one": invalid syntax"#
    );
    assert_eq!(
        prom_err(r#"{{ "one" | humanizePercentage }}"#, &none()),
        r#"template: test:1:11: executing "test" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: parsing "one": invalid syntax"#
    );
    assert_eq!(
        prom_err(
            "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}",
            &ints(&[i64::MIN, i64::MAX])
        ),
        r#"template: test:1:16: executing "test" at <humanizeTimestamp .>: error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64"#
    );
    assert!(
        prom_err("{{ humanize true }}", &none())
            .ends_with("error calling humanize: can't convert bool to float")
    );
    assert!(
        prom_err("{{ humanize \"1e400\" }}", &none())
            .ends_with(r#"strconv.ParseFloat: parsing "1e400": value out of range"#)
    );
    assert!(prom_err("{{ toTime \"NaN\" }}", &none()).ends_with("error calling toTime: value is NaN or Inf"));
    assert!(prom_err("{{ humanize }}", &none()).ends_with("wrong number of args for humanize: want 1 got 0"));
}

#[test]
fn prometheus_alert_annotation() {
    // What the rules crate renders: Prometheus's variable preamble, then the annotation.
    let preamble = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";
    let data = Value::map([
        (
            "Labels",
            Value::map_of_strings([("instance", "web-1:80"), ("severity", "page")]),
        ),
        ("ExternalLabels", Value::map_of_strings::<&str, &str>([])),
        ("ExternalURL", s("http://prom")),
        ("Value", Value::Float(0.9512)),
    ]);
    let text = format!(
        "{preamble}{{{{ $labels.instance | stripPort }}}} at {{{{ $value | humanizePercentage }}}}{{{{ with $externalLabels.cluster }}}} in {{{{ . }}}}{{{{ end }}}}{{{{ if gt $value 0.9 }}}} (critical){{{{ end }}}}"
    );
    assert_eq!(prom(&text, &data), "web-1 at 95.12% (critical)");
}

// ---------------------------------------------------------------------------------------------
// Alertmanager

fn am(text: &str, data: &Value) -> String {
    let clock: alertmanager::Clock = Arc::new(|| Time::from_unix(1_700_000_000, 0));
    let zones: alertmanager::ZoneResolver =
        Arc::new(|name: &str, _t: &Time| (name == "Asia/Kolkata").then(|| Zone::fixed("IST", 19_800)));
    let mut t = tmpl(alertmanager::funcs_with(clock, Some(zones)), text);
    t.set_missing_key(MissingKey::Zero);
    t.execute(data).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn alert(status: &str, labels: KV, starts: i64) -> Value {
    Value::object(Struct::new(
        "template.Alert",
        [
            ("Status", s(status)),
            ("Labels", labels.into_value()),
            ("Annotations", KV::default().into_value()),
            ("StartsAt", Value::Time(Time::from_unix(starts, 0))),
        ],
    ))
}

fn am_data() -> Value {
    let labels = KV::new([("job", "api"), ("alertname", "HighLatency"), ("instance", "a:1")]);
    Value::map([
        ("Status", s("firing")),
        (
            "Alerts",
            Alerts::new(vec![
                alert("firing", labels.clone(), 1_699_999_000),
                alert("resolved", KV::new([("alertname", "Other")]), 1_699_990_000),
                alert("firing", KV::new([("alertname", "Third")]), 1_699_999_900),
            ])
            .into_value(),
        ),
        ("CommonLabels", labels.into_value()),
        ("GroupLabels", KV::default().into_value()),
    ])
}

#[test]
fn alertmanager_kv_and_alerts() {
    let d = am_data();
    assert_eq!(
        am("{{ .CommonLabels }}", &d),
        "alertname=HighLatency, instance=a:1, job=api"
    );
    assert_eq!(
        am(
            "{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}",
            &d
        ),
        "alertname=HighLatency;instance=a:1;job=api;"
    );
    assert_eq!(
        am("{{ .CommonLabels.Names }} {{ .CommonLabels.Values }}", &d),
        "[alertname instance job] [HighLatency a:1 api]"
    );
    assert_eq!(
        am("{{ .CommonLabels.SortedPairs.Names }}", &d),
        "[alertname instance job]"
    );
    assert_eq!(
        am(r#"{{ join ", " .CommonLabels.Names }}"#, &d),
        "alertname, instance, job"
    );
    assert_eq!(
        am(
            r#"{{ (.CommonLabels.Remove (stringSlice "job" "instance")).Names }}"#,
            &d
        ),
        "[alertname]"
    );
    assert_eq!(
        am(
            "{{ .CommonLabels.alertname }}|{{ .CommonLabels.nope }}|{{ index .CommonLabels \"job\" }}",
            &d
        ),
        "HighLatency||api"
    );
    assert_eq!(
        am(
            "{{ len .CommonLabels }} {{ len .GroupLabels }} {{ if .GroupLabels }}x{{ else }}empty{{ end }}",
            &d
        ),
        "3 0 empty"
    );
    assert_eq!(
        am("{{ range $k, $v := .CommonLabels }}{{ $k }}{{ end }}", &d),
        "alertnameinstancejob"
    );
    assert_eq!(
        am(
            "{{ .Alerts.Firing | len }} {{ .Alerts.Resolved | len }} {{ len .Alerts }}",
            &d
        ),
        "2 1 3"
    );
    assert_eq!(
        am(
            "{{ range .Alerts.Firing }}{{ .Labels.alertname }} since {{ .StartsAt | since | humanizeDuration }}; {{ end }}",
            &d
        ),
        "HighLatency since 16m 40s; Third since 1m 40s; "
    );
    assert_eq!(am("{{ (index .Alerts 1).Status }}", &d), "resolved");
}

#[test]
fn alertmanager_funcs() {
    let d = am_data();
    assert_eq!(
        am(r#"{{ "hello WORLD foo-bar o'neil x.y" | title }}"#, &d),
        "Hello World Foo-Bar O'neil X.y"
    );
    assert_eq!(
        am(
            r#"{{ "  x y \n" | trimSpace }}|{{ toUpper "ab" }}|{{ toLower "AB" }}"#,
            &d
        ),
        "x y|AB|ab"
    );
    assert_eq!(
        am(r#"{{ stringSlice "a" "b" }} {{ join "-" (stringSlice) }}|"#, &d),
        "[a b] |"
    );
    assert_eq!(
        am(
            r#"{{ match "^High" .CommonLabels.alertname }} {{ reReplaceAll "[aeiou]" "" "HighLatency" }}"#,
            &d
        ),
        "true HghLtncy"
    );
    assert_eq!(
        am(
            r#"{{ "a%20b+c%2Fd" | urlUnescape }} {{ "http://x/?a=b" | safeUrl }}"#,
            &d
        ),
        "a b c/d http://x/?a=b"
    );
    assert_eq!(am(r#"{{ "<b>" | safeHtml }}"#, &d), "<b>");
    let t = "(index .Alerts 0).StartsAt";
    assert_eq!(
        am(&format!(r#"{{{{ date "2006-01-02 15:04:05 MST" {t} }}}}"#), &d),
        "2023-11-14 21:56:40 UTC"
    );
    assert_eq!(
        am(
            &format!(r#"{{{{ {t} | tz "Asia/Kolkata" | date "15:04 MST -0700" }}}}"#),
            &d
        ),
        "03:26 IST +0530"
    );
    assert_eq!(
        am(
            &format!(r#"{{{{ ({t} | tz "UTC").Location }}}}"#).replace(".Location", ".Hour"),
            &d
        ),
        "21"
    );
    assert_eq!(am(&format!(r#"{{{{ {t} | since }}}}"#), &d), "16m40s");
    assert_eq!(am("{{ humanizeDuration 3661 }}", &d), "1h 1m 1s");
    assert_eq!(
        am(
            r#"{{ toJson .CommonLabels }} {{ toJson (stringSlice "a<b" "é") }} {{ toJson 1.5 }} {{ toJson 1e21 }} {{ toJson 0.0000001 }}"#,
            &d
        ),
        r#"{"alertname":"HighLatency","instance":"a:1","job":"api"} ["a\u003cb","é"] 1.5 1e+21 1e-7"#
    );
    assert_eq!(
        am(r#"{{ toJson (index .Alerts 1) }}"#, &d),
        r#"{"Annotations":{},"Labels":{"alertname":"Other"},"StartsAt":"2023-11-14T19:26:40Z","Status":"resolved"}"#
    );
    let mut t = Template::new("x", alertmanager::funcs());
    t.parse(r#"{{ tz "Mars/Base" .T }}"#).unwrap();
    let err = t
        .execute(&Value::map([("T", Value::Time(Time::zero()))]))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("error calling tz: unknown time zone Mars/Base"),
        "{err}"
    );
    assert_eq!(
        tmpl(alertmanager::funcs(), r#"{{ join "," "x" }}"#)
            .execute(&none())
            .unwrap_err()
            .to_string(),
        r#"template: test:1:12: executing "test" at <"x">: wrong type for value; expected []string; got string"#
    );
}

#[test]
fn alertmanager_default_style_template() {
    // In the style of Alertmanager's default.tmpl.
    let text = r#"{{ define "__subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}{{ template "__subject" . }}"#;
    assert_eq!(am(text, &am_data()), "[FIRING:2]  (HighLatency a:1 api)");
}

// ---------------------------------------------------------------------------------------------
// Robustness

mod props {
    use proptest::prelude::*;

    use super::*;

    fn template_text() -> impl Strategy<Value = String> {
        let atoms = prop::sample::select(vec![
            "{{",
            "}}",
            "{{-",
            "-}}",
            " ",
            ".",
            ".a",
            "$",
            "$x",
            ":=",
            "=",
            "|",
            "(",
            ")",
            "\"s\"",
            "`r`",
            "'c'",
            "1",
            "-1",
            "1.5",
            "0x1p-2",
            "if",
            "else",
            "end",
            "range",
            "with",
            "define",
            "template",
            "block",
            "break",
            "continue",
            "nil",
            "true",
            "printf",
            "\"%d %s %v\"",
            "index",
            "len",
            "slice",
            "eq",
            "lt",
            "and",
            "or",
            "humanize",
            "title",
            "toTime",
            ".Format",
            "/*",
            "*/",
            "\n",
            "x",
            "é",
            "\u{a0}",
            ",",
            "\"a\"",
        ]);
        prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn parse_and_execute_never_panic(text in template_text()) {
            let mut t = Template::new("p", prometheus::funcs());
            if t.parse(&text).is_ok() {
                t.set_limits(Limits { max_depth: 50, max_output: 1 << 16, max_steps: 10_000 });
                let _ = t.execute(&data());
                let _ = t.execute_html(&Value::list([Value::Int(1), s("a")]));
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,64}") {
            let mut t = Template::new("p", prometheus::funcs());
            if t.parse(&text).is_ok() {
                let _ = t.execute(&Value::Missing);
            }
        }

        #[test]
        fn printf_never_panics(format in "[%0-9.*#+ \\-\\[\\]dsvqxXfegtTcU%]{0,16}", n in any::<i64>(), x in any::<f64>()) {
            let _ = sprintf(&format, &[Value::Int(n), Value::Float(x), s("é"), Value::Missing]);
        }

        #[test]
        fn shortest_floats_read_back(x in any::<f64>()) {
            let shown = value_string(&Value::Float(x));
            if x.is_finite() {
                prop_assert_eq!(shown.parse::<f64>().ok(), Some(x));
            }
        }
    }
}

#[test]
fn templates_and_values_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    assert_send_sync::<Value>();
    assert_send_sync::<Funcs>();
}
