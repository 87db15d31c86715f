//! The PromQL parser: recursive descent for the primaries and modifiers, precedence climbing for
//! binary operators, then the type checks of `check`. It mirrors the grammar of Prometheus's yacc
//! parser, including how its conflicts resolve (`foo offset -2 ^ 2` is `(foo offset -2) ^ 2`), and
//! reports the first error Prometheus would, worded the same way.

use std::collections::HashMap;

use crate::ast::*;
use crate::error::{ParseError, Result};
use crate::functions;
use crate::lexer::{self, Kind, Token};
use crate::literals::{format_go_f, parse_duration, parse_number};
use crate::quote::{quote, unquote};

/// Deepest nesting of the parser's own recursion (parentheses, calls, unary signs, `^` chains). Past
/// it the query is refused rather than risking the stack.
const MAX_NESTING: usize = 200;

/// Deepest syntax tree accepted. Long left-associative chains (`a + b + c …`) are built without
/// recursion but later walked recursively by the checker, printer and drop glue.
const MAX_TREE_DEPTH: usize = 1000;

/// Which experimental Prometheus features the parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Functions and aggregations marked experimental (`limitk`, `info`, `sort_by_label`, …);
    /// Prometheus's `--enable-feature=promql-experimental-functions`.
    pub experimental_functions: bool,
    /// Arithmetic in ranges, steps and offsets (`foo[5m+1m]`, `offset (1h*2)`); Prometheus's
    /// `--enable-feature=promql-duration-expr`. Only constant arithmetic is supported.
    pub duration_expressions: bool,
}

impl Default for ParseOptions {
    /// Everything this crate implements is enabled, as in Prometheus's own test scripts.
    fn default() -> Self {
        Self {
            experimental_functions: true,
            duration_expressions: true,
        }
    }
}

impl ParseOptions {
    /// Prometheus's defaults: experimental functions and duration expressions refused.
    pub fn prometheus_defaults() -> Self {
        Self {
            experimental_functions: false,
            duration_expressions: false,
        }
    }
}

/// Parses and type-checks a PromQL expression with every supported feature enabled.
pub fn parse(query: &str) -> Result<Expr> {
    parse_with(query, &ParseOptions::default())
}

/// Parses and type-checks a PromQL expression with the given features.
pub fn parse_with(query: &str, opts: &ParseOptions) -> Result<Expr> {
    let lexed = lexer::lex(query);
    let mut p = Parser {
        src: query,
        tokens: lexed.tokens,
        lex_error: lexed.error,
        i: 0,
        opts: *opts,
        nesting: 0,
        contexts: Vec::new(),
        regex_matches_empty: HashMap::new(),
    };
    let mut expr = p.parse_query()?;
    if tree_depth(&expr) > MAX_TREE_DEPTH {
        return Err(p.error(Pos::new(0, query.len()), "query is too deeply nested"));
    }
    crate::check::check(&mut expr, query, &p.regex_matches_empty)?;
    Ok(expr)
}

/// Depth of the tree, computed without recursion so that it is safe on any input.
fn tree_depth(root: &Expr) -> usize {
    let mut max = 0;
    let mut stack = vec![(root, 1usize)];
    while let Some((e, d)) = stack.pop() {
        max = max.max(d);
        match e {
            Expr::Number(_) | Expr::String(_) | Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {}
            Expr::Subquery(s) => stack.push((&s.expr, d + 1)),
            Expr::Paren(p) => stack.push((&p.expr, d + 1)),
            Expr::Unary(u) => stack.push((&u.expr, d + 1)),
            Expr::Binary(b) => {
                stack.push((&b.lhs, d + 1));
                stack.push((&b.rhs, d + 1));
            }
            Expr::Aggregate(a) => {
                stack.push((&a.expr, d + 1));
                if let Some(p) = &a.param {
                    stack.push((p, d + 1));
                }
            }
            Expr::Call(c) => stack.extend(c.args.iter().map(|a| (a, d + 1))),
        }
    }
    max
}

/// A duration expression folded to a value in seconds. `literal` marks a bare number or duration
/// (possibly signed or parenthesized), which Prometheus checks at parse time rather than at
/// evaluation.
#[derive(Debug, Clone, Copy)]
struct Dur {
    secs: f64,
    literal: bool,
    pos: Pos,
}

/// `float64(math.MaxInt64)`, i.e. 2^63: the bound Prometheus puts on `@` timestamps in seconds.
const I64_BOUND: f64 = 9_223_372_036_854_775_808_f64;

/// Largest duration in seconds that fits Go's `time.Duration` (nanoseconds in an int64).
const MAX_DURATION_SECS: f64 = 9_223_372_036.854_775;

const OFFSET_CTX: (&str, &str) = ("offset", "number, duration, step(), or range()");
const RANGE_CTX: (&str, &str) = (
    "subquery or range selector",
    "number, duration, step(), or range()",
);
const STEP_CTX: (&str, &str) = ("subquery selector", "number, duration, step(), range(), or \"]\"");

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    lex_error: Option<String>,
    i: usize,
    opts: ParseOptions,
    nesting: usize,
    /// The enclosing constructs that Prometheus's grammar has error rules for, innermost last: a
    /// syntax error is reported "in" the innermost one, as yacc's error recovery does.
    contexts: Vec<(&'static str, &'static str)>,
    /// For each valid regex matcher value: whether it matches the empty string.
    regex_matches_empty: HashMap<String, bool>,
}

/// The value after `@`.
enum AtValue {
    Seconds(f64),
    Preprocessor(At),
}

impl Parser<'_> {
    // ----- Token access and errors -----

    fn peek(&self) -> Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> Token {
        let last = self.tokens.len().saturating_sub(1);
        self.tokens.get((self.i + n).min(last)).copied().unwrap_or(Token {
            kind: Kind::Eof,
            start: self.src.len(),
            end: self.src.len(),
        })
    }

    fn bump(&mut self) -> Token {
        let tok = self.peek();
        if !matches!(tok.kind, Kind::Eof | Kind::Error) {
            self.i += 1;
        }
        tok
    }

    fn text(&self, tok: Token) -> &str {
        self.src.get(tok.start..tok.end).unwrap_or("")
    }

    fn error(&self, pos: Pos, msg: impl Into<String>) -> ParseError {
        ParseError {
            pos,
            msg: msg.into(),
            query: self.src.to_string(),
        }
    }

    /// The lexer's error, when the parser has reached it.
    fn lex_error(&self, tok: Token) -> ParseError {
        self.error(
            Pos::new(tok.start, tok.end),
            self.lex_error.clone().unwrap_or_default(),
        )
    }

    /// "unexpected <token> in <context>, expected <what>" for the current token.
    fn unexpected_in(&self, context: &str, expected: &str) -> ParseError {
        let tok = self.peek();
        if tok.kind == Kind::Error {
            return self.lex_error(tok);
        }
        let mut msg = format!("unexpected {}", tok.describe(self.src));
        if !context.is_empty() {
            msg.push_str(" in ");
            msg.push_str(context);
        }
        if !expected.is_empty() {
            msg.push_str(", expected ");
            msg.push_str(expected);
        }
        self.error(Pos::new(tok.start, tok.end), msg)
    }

    /// A syntax error in expression position, reported in the innermost enclosing context.
    fn unexpected(&self) -> ParseError {
        let (context, expected) = self.contexts.last().copied().unwrap_or(("", ""));
        self.unexpected_in(context, expected)
    }

    fn expect(&mut self, kind: Kind) -> Result<Token> {
        if self.peek().kind == kind {
            Ok(self.bump())
        } else {
            Err(self.unexpected())
        }
    }

    fn too_deep(&self) -> ParseError {
        let tok = self.peek();
        self.error(Pos::new(tok.start, tok.end), "query is too deeply nested")
    }

    fn enter(&mut self) -> Result<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.too_deep());
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting -= 1;
    }

    fn with_context<T>(
        &mut self,
        ctx: (&'static str, &'static str),
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        self.contexts.push(ctx);
        let out = f(self);
        self.contexts.pop();
        out
    }

    fn unquote_token(&self, tok: Token) -> Result<String> {
        let raw = self.text(tok);
        let pos = Pos::new(tok.start, tok.end);
        let bytes = unquote(raw).ok_or_else(|| {
            self.error(
                pos,
                format!("error unquoting string {}: invalid syntax", quote(raw)),
            )
        })?;
        // Escapes such as `\xff` can spell bytes that are not UTF-8; Prometheus keeps them as raw
        // bytes, which a Rust string cannot hold.
        String::from_utf8(bytes).map_err(|_| self.error(pos, "string literal is not valid UTF-8"))
    }

    fn number_value(&self, tok: Token) -> Result<f64> {
        let pos = Pos::new(tok.start, tok.end);
        match tok.kind {
            Kind::Duration => parse_duration(self.text(tok))
                .map(|ns| ns as f64 / 1e9)
                .map_err(|e| self.error(pos, e)),
            _ => parse_number(self.text(tok))
                .map_err(|e| self.error(pos, format!("error parsing number: {e}"))),
        }
    }

    // ----- Expressions -----

    fn parse_query(&mut self) -> Result<Expr> {
        match self.peek().kind {
            Kind::Eof => return Err(self.error(Pos::new(0, 0), "no expression found in input")),
            Kind::Error => return Err(self.lex_error(self.peek())),
            _ => {}
        }
        let expr = self.parse_expr()?;
        if self.peek().kind != Kind::Eof {
            return Err(self.unexpected());
        }
        Ok(expr)
    }

    fn parse_expr(&mut self) -> Result<Expr> {
        self.parse_binary(0)
    }

    fn parse_binary(&mut self, min_prec: u8) -> Result<Expr> {
        self.enter()?;
        let mut lhs = self.parse_unary()?;
        // Tracked so that a long chain is refused while it is built: a tree too deep would overflow
        // the stack even in its (recursive) drop.
        let mut depth = tree_depth(&lhs);
        loop {
            let tok = self.peek();
            if matches!(tok.kind, Kind::TrimUpper | Kind::TrimLower) {
                return Err(self.error(
                    Pos::new(tok.start, tok.end),
                    "the histogram trim operators </ and >/ are not supported",
                ));
            }
            let Some(op) = binary_op(tok.kind) else { break };
            let prec = precedence(op);
            if prec < min_prec {
                break;
            }
            self.bump();
            let (return_bool, matching) = self.parse_bin_modifiers()?;
            let next_min = if op == BinaryOp::Pow { prec } else { prec + 1 };
            let rhs = self.parse_binary(next_min)?;
            depth = 1 + depth.max(tree_depth(&rhs));
            if depth > MAX_TREE_DEPTH {
                return Err(self.too_deep());
            }
            let pos = Pos::new(lhs.pos().start, rhs.pos().end);
            lhs = Expr::Binary(Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                return_bool,
                // Kept for the checker, which drops it unless both sides are instant vectors.
                matching: Some(matching),
                pos,
            });
        }
        self.leave();
        Ok(lhs)
    }

    /// `bool`, `on (…)`/`ignoring (…)` and `group_left (…)`/`group_right (…)` after an operator.
    fn parse_bin_modifiers(&mut self) -> Result<(bool, VectorMatching)> {
        let mut matching = VectorMatching {
            card: Cardinality::OneToOne,
            labels: vec![],
            on: false,
            include: vec![],
        };
        let return_bool = self.peek().kind == Kind::Bool;
        if return_bool {
            self.bump();
        }
        if matches!(self.peek().kind, Kind::On | Kind::Ignoring) {
            matching.on = self.bump().kind == Kind::On;
            matching.labels = self.parse_grouping_labels()?;
            if matches!(self.peek().kind, Kind::GroupLeft | Kind::GroupRight) {
                matching.card = if self.bump().kind == Kind::GroupLeft {
                    Cardinality::ManyToOne
                } else {
                    Cardinality::OneToMany
                };
                if self.peek().kind == Kind::LParen {
                    matching.include = self.parse_grouping_labels()?;
                }
            }
        }
        if matches!(self.peek().kind, Kind::Fill | Kind::FillLeft | Kind::FillRight) {
            let tok = self.peek();
            return Err(self.error(
                Pos::new(tok.start, tok.end),
                "binop fill modifiers are not supported",
            ));
        }
        Ok((return_bool, matching))
    }

    /// `(label, "quoted label", …)` of `by`, `without`, `on`, `ignoring` and `group_x`.
    fn parse_grouping_labels(&mut self) -> Result<Vec<String>> {
        if self.peek().kind != Kind::LParen {
            return Err(self.unexpected_in("grouping opts", "\"(\""));
        }
        self.bump();
        let mut labels = Vec::new();
        if self.peek().kind == Kind::RParen {
            self.bump();
            return Ok(labels);
        }
        loop {
            let tok = self.peek();
            if is_label_keyword(tok.kind) {
                labels.push(self.text(tok).to_string());
            } else if tok.kind == Kind::Str {
                let name = self.unquote_token(tok)?;
                if name.is_empty() {
                    return Err(self.error(
                        Pos::new(tok.start, tok.end),
                        format!("invalid label name for grouping: {}", quote(&name)),
                    ));
                }
                labels.push(name);
            } else {
                return Err(self.unexpected_in("grouping opts", "label"));
            }
            self.bump();
            match self.peek().kind {
                Kind::Comma => {
                    self.bump();
                    if self.peek().kind == Kind::RParen {
                        self.bump();
                        return Ok(labels);
                    }
                }
                Kind::RParen => {
                    self.bump();
                    return Ok(labels);
                }
                _ => return Err(self.unexpected_in("grouping opts", "\",\" or \")\"")),
            }
        }
    }

    fn parse_unary(&mut self) -> Result<Expr> {
        let tok = self.peek();
        let op = match tok.kind {
            Kind::Add => UnaryOp::Pos,
            Kind::Sub => UnaryOp::Neg,
            _ => {
                let primary = self.parse_primary()?;
                return self.parse_postfix(primary);
            }
        };
        self.bump();
        // Unary operators bind like `*`: only `^` binds tighter.
        let operand = self.parse_binary(precedence(BinaryOp::Pow))?;
        Ok(match operand {
            Expr::Number(mut n) => {
                if op == UnaryOp::Neg {
                    n.value = -n.value;
                }
                n.pos.start = tok.start;
                Expr::Number(n)
            }
            operand => {
                let pos = Pos::new(tok.start, operand.pos().end);
                Expr::Unary(Unary {
                    op,
                    expr: Box::new(operand),
                    pos,
                })
            }
        })
    }

    fn parse_primary(&mut self) -> Result<Expr> {
        let tok = self.peek();
        let next = self.peek_at(1).kind;
        match tok.kind {
            Kind::Number | Kind::Duration => {
                self.bump();
                let value = self.number_value(tok)?;
                Ok(Expr::Number(NumberLiteral {
                    value,
                    pos: Pos::new(tok.start, tok.end),
                }))
            }
            Kind::Str => {
                self.bump();
                let value = self.unquote_token(tok)?;
                Ok(Expr::String(StringLiteral {
                    value,
                    pos: Pos::new(tok.start, tok.end),
                }))
            }
            Kind::LParen => {
                self.bump();
                self.enter()?;
                let inner = self.parse_expr()?;
                self.leave();
                let close = self.expect(Kind::RParen)?;
                Ok(Expr::Paren(Paren {
                    expr: Box::new(inner),
                    pos: Pos::new(tok.start, close.end),
                }))
            }
            Kind::LBrace => self.parse_vector_selector(),
            Kind::Ident | Kind::Start | Kind::End | Kind::Step | Kind::Range if next == Kind::LParen => {
                self.parse_call()
            }
            Kind::Agg(op) if matches!(next, Kind::LParen | Kind::By | Kind::Without) => {
                self.parse_aggregate(op)
            }
            k if is_metric_name(k) => self.parse_vector_selector(),
            _ => Err(self.unexpected()),
        }
    }

    fn parse_postfix(&mut self, mut expr: Expr) -> Result<Expr> {
        // Each subquery adds a level without recursion, hence the check (see `parse_binary`).
        let mut depth = None;
        loop {
            let tok = self.peek();
            expr = match tok.kind {
                Kind::LBracket => {
                    let d = depth.unwrap_or_else(|| tree_depth(&expr)) + 1;
                    if d > MAX_TREE_DEPTH {
                        return Err(self.too_deep());
                    }
                    depth = Some(d);
                    self.parse_range_or_subquery(expr)?
                }
                Kind::Offset => self.parse_offset(expr)?,
                Kind::At => self.parse_at(expr)?,
                Kind::Anchored | Kind::Smoothed => {
                    return Err(self.error(
                        Pos::new(tok.start, tok.end),
                        format!(
                            "the {} modifier is not supported",
                            self.text(tok).to_ascii_lowercase()
                        ),
                    ));
                }
                _ => return Ok(expr),
            };
        }
    }

    // ----- Selectors -----

    fn parse_vector_selector(&mut self) -> Result<Expr> {
        let first = self.peek();
        let mut name = None;
        let mut end = first.end;
        if first.kind != Kind::LBrace {
            self.bump();
            name = Some(self.text(first).to_string());
        }
        let mut matchers = Vec::new();
        if self.peek().kind == Kind::LBrace {
            let (m, close) = self.parse_label_matchers()?;
            matchers = m;
            end = close;
        }
        // Kept in the order they print in, so that printing and parsing again gives the same tree.
        matchers.sort_by_cached_key(crate::printer::render_matcher);
        if let Some(name) = &name {
            matchers.push(LabelMatcher {
                name: "__name__".to_string(),
                op: MatchOp::Equal,
                value: name.clone(),
            });
        }
        Ok(Expr::VectorSelector(VectorSelector {
            name,
            matchers,
            offset: 0,
            at: None,
            pos: Pos::new(first.start, end),
        }))
    }

    /// `{…}`; returns the matchers and the end of the closing brace.
    fn parse_label_matchers(&mut self) -> Result<(Vec<LabelMatcher>, usize)> {
        self.bump();
        let mut matchers = Vec::new();
        loop {
            if self.peek().kind == Kind::RBrace {
                return Ok((matchers, self.bump().end));
            }
            let tok = self.peek();
            let matcher = match tok.kind {
                Kind::Ident => {
                    self.bump();
                    let name = self.text(tok).to_string();
                    self.parse_matcher_rest(name, tok)?
                }
                Kind::Str => {
                    self.bump();
                    let name = self.unquote_token(tok)?;
                    if match_op(self.peek().kind).is_some() {
                        self.parse_matcher_rest(name, tok)?
                    } else {
                        LabelMatcher {
                            name: "__name__".to_string(),
                            op: MatchOp::Equal,
                            value: name,
                        }
                    }
                }
                _ => return Err(self.unexpected_in("label matching", "identifier or \"}\"")),
            };
            matchers.push(matcher);
            match self.peek().kind {
                Kind::Comma => {
                    self.bump();
                }
                Kind::RBrace => return Ok((matchers, self.bump().end)),
                _ => return Err(self.unexpected_in("label matching", "\",\" or \"}\"")),
            }
        }
    }

    fn parse_matcher_rest(&mut self, name: String, name_tok: Token) -> Result<LabelMatcher> {
        let Some(op) = match_op(self.peek().kind) else {
            return Err(self.unexpected_in("label matching", "label matching operator"));
        };
        self.bump();
        let value_tok = self.peek();
        if value_tok.kind != Kind::Str {
            return Err(self.unexpected_in("label matching", "string"));
        }
        self.bump();
        let value = self.unquote_token(value_tok)?;
        if matches!(op, MatchOp::Regex | MatchOp::NotRegex) {
            self.validate_regex(&value, Pos::new(name_tok.start, value_tok.end))?;
        }
        Ok(LabelMatcher { name, op, value })
    }

    /// Compiles the regex as Prometheus matches it: anchored at both ends, `.` matching newlines.
    fn validate_regex(&mut self, value: &str, pos: Pos) -> Result<()> {
        if self.regex_matches_empty.contains_key(value) {
            return Ok(());
        }
        let anchored = format!("^(?s:{value})$");
        match regex::RegexBuilder::new(&anchored).octal(true).build() {
            Ok(re) => {
                self.regex_matches_empty
                    .insert(value.to_string(), re.is_match(""));
                Ok(())
            }
            Err(e) => {
                let reason = match &e {
                    regex::Error::Syntax(s) => s
                        .lines()
                        .rev()
                        .find_map(|l| l.strip_prefix("error: "))
                        .unwrap_or("invalid syntax")
                        .to_string(),
                    regex::Error::CompiledTooBig(_) => "expression too large".to_string(),
                    _ => e.to_string(),
                };
                Err(self.error(pos, format!("error parsing regexp: {reason}: `{anchored}`")))
            }
        }
    }

    fn parse_range_or_subquery(&mut self, expr: Expr) -> Result<Expr> {
        let open = self.bump();
        let range = self.with_context(RANGE_CTX, |p| p.parse_dur_expr(0))?;
        let range_ms = self.positive_ms(range)?;
        match self.peek().kind {
            Kind::RBracket => {
                let close = self.bump();
                let bracket = Pos::new(open.start, close.end);
                let Expr::VectorSelector(vs) = expr else {
                    return Err(self.error(bracket, "ranges only allowed for vector selectors"));
                };
                if vs.offset != 0 {
                    return Err(self.error(bracket, "no offset modifiers allowed before range"));
                }
                if vs.at.is_some() {
                    return Err(self.error(bracket, "no @ modifiers allowed before range"));
                }
                let pos = Pos::new(vs.pos.start, close.end);
                Ok(Expr::MatrixSelector(MatrixSelector {
                    selector: vs,
                    range: range_ms,
                    pos,
                }))
            }
            Kind::Colon => {
                self.bump();
                let step = if self.peek().kind == Kind::RBracket {
                    None
                } else {
                    let step = self.with_context(STEP_CTX, |p| p.parse_dur_expr(0))?;
                    Some(self.positive_ms(step)?)
                };
                if self.peek().kind != Kind::RBracket {
                    return Err(self.unexpected_in("subquery selector", "\"]\""));
                }
                let close = self.bump();
                let pos = Pos::new(expr.pos().start, close.end);
                Ok(Expr::Subquery(Subquery {
                    expr: Box::new(expr),
                    range: range_ms,
                    step,
                    offset: 0,
                    at: None,
                    pos,
                }))
            }
            Kind::DoubleColon => {
                let tok = self.peek();
                Err(self.error(
                    Pos::new(tok.start, tok.end),
                    "aligned subqueries (\"::\") are not supported",
                ))
            }
            _ => Err(self.unexpected_in("subquery or range", "\":\" or \"]\"")),
        }
    }

    fn parse_offset(&mut self, mut expr: Expr) -> Result<Expr> {
        self.bump();
        let value = self.with_context(OFFSET_CTX, |p| p.parse_offset_value())?;
        let ms = self.duration_ms(value)?;
        let end = value.pos.end;
        let already = "offset may not be set multiple times";
        match &mut expr {
            Expr::VectorSelector(vs) => {
                if vs.offset != 0 {
                    return Err(self.error(vs.pos, already));
                }
                vs.offset = ms;
                vs.pos.end = end;
            }
            Expr::MatrixSelector(m) => {
                if m.selector.offset != 0 {
                    return Err(self.error(m.pos, already));
                }
                m.selector.offset = ms;
                m.pos.end = end;
            }
            Expr::Subquery(s) => {
                if s.offset != 0 {
                    return Err(self.error(s.pos, already));
                }
                s.offset = ms;
                s.pos.end = end;
            }
            other => {
                return Err(self.error(
                    other.pos(),
                    "offset modifier must be preceded by an instant vector selector or range vector selector \
                     or a subquery",
                ));
            }
        }
        Ok(expr)
    }

    fn parse_at(&mut self, mut expr: Expr) -> Result<Expr> {
        self.bump();
        let (value, end) = self.with_context(("@", "timestamp"), |p| {
            let tok = p.peek();
            match tok.kind {
                Kind::Start | Kind::End => {
                    p.bump();
                    p.expect(Kind::LParen)?;
                    let close = p.expect(Kind::RParen)?;
                    let at = if tok.kind == Kind::Start {
                        At::Start
                    } else {
                        At::End
                    };
                    Ok((AtValue::Preprocessor(at), close.end))
                }
                Kind::Add | Kind::Sub => {
                    p.bump();
                    let num = p.peek();
                    if !matches!(num.kind, Kind::Number | Kind::Duration) {
                        return Err(p.unexpected());
                    }
                    p.bump();
                    let v = p.number_value(num)?;
                    Ok((
                        AtValue::Seconds(if tok.kind == Kind::Sub { -v } else { v }),
                        num.end,
                    ))
                }
                Kind::Number | Kind::Duration => {
                    p.bump();
                    Ok((AtValue::Seconds(p.number_value(tok)?), tok.end))
                }
                _ => Err(p.unexpected()),
            }
        })?;
        let cur_pos = expr.pos();
        let at = match value {
            AtValue::Seconds(ts) => {
                if !ts.is_finite() || ts >= I64_BOUND || ts <= -I64_BOUND {
                    return Err(self.error(
                        cur_pos,
                        format!("timestamp out of bounds for @ modifier: {}", format_go_f(ts)),
                    ));
                }
                At::Timestamp((ts * 1000.0).round() as i64)
            }
            AtValue::Preprocessor(at) => at,
        };
        let (slot, pos_end) = match &mut expr {
            Expr::VectorSelector(vs) => (&mut vs.at, &mut vs.pos.end),
            Expr::MatrixSelector(m) => (&mut m.selector.at, &mut m.pos.end),
            Expr::Subquery(s) => (&mut s.at, &mut s.pos.end),
            _ => {
                return Err(self.error(
                    cur_pos,
                    "@ modifier must be preceded by an instant vector selector or range vector selector or a \
                     subquery",
                ));
            }
        };
        if slot.is_some() {
            return Err(self.error(cur_pos, "@ <timestamp> may not be set multiple times"));
        }
        *slot = Some(at);
        *pos_end = end;
        Ok(expr)
    }

    // ----- Aggregations and calls -----

    fn parse_aggregate(&mut self, op: AggregateOp) -> Result<Expr> {
        let op_tok = self.bump();
        let mut grouping = None;
        if matches!(self.peek().kind, Kind::By | Kind::Without) {
            let without = self.bump().kind == Kind::Without;
            grouping = Some((self.parse_grouping_labels()?, without));
            if self.peek().kind != Kind::LParen {
                return Err(self.unexpected_in("aggregation", ""));
            }
        }
        let (mut args, mut end) = self.with_context(("aggregation", ""), |p| p.parse_call_args())?;
        if grouping.is_none() && matches!(self.peek().kind, Kind::By | Kind::Without) {
            let without = self.bump().kind == Kind::Without;
            grouping = Some((self.parse_grouping_labels()?, without));
            end = self.tokens.get(self.i.saturating_sub(1)).map_or(end, |t| t.end);
        }
        let pos = Pos::new(op_tok.start, end);
        if args.is_empty() {
            return Err(self.error(pos, "no arguments for aggregate expression provided"));
        }
        let mut desired = 1;
        if op.has_param() {
            if matches!(op, AggregateOp::Limitk | AggregateOp::LimitRatio)
                && !self.opts.experimental_functions
            {
                return Err(self.error(
                    pos,
                    format!(
                        "{}() is experimental and must be enabled with \
                         --enable-feature=promql-experimental-functions",
                        op.as_str()
                    ),
                ));
            }
            desired = 2;
        }
        if args.len() != desired {
            return Err(self.error(
                pos,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {desired}, got {}",
                    args.len()
                ),
            ));
        }
        let expr = args.pop().map(Box::new);
        let param = args.pop().map(Box::new);
        let (grouping, without) = grouping.unwrap_or_default();
        let Some(expr) = expr else {
            return Err(self.error(pos, "no arguments for aggregate expression provided"));
        };
        Ok(Expr::Aggregate(Aggregate {
            op,
            expr,
            param,
            grouping,
            without,
            pos,
        }))
    }

    fn parse_call(&mut self) -> Result<Expr> {
        let name_tok = self.bump();
        let name = self.text(name_tok).to_string();
        let (args, end) = self.parse_call_args()?;
        let name_pos = Pos::new(name_tok.start, name_tok.end);
        // `start`, `end`, `step` and `range` are keywords, matched whatever their case.
        let lookup_name = if name_tok.kind == Kind::Ident {
            name.clone()
        } else {
            name.to_ascii_lowercase()
        };
        let Some(func) = functions::lookup(&lookup_name) else {
            return Err(self.error(name_pos, format!("unknown function with name {}", quote(&name))));
        };
        if func.experimental && !self.opts.experimental_functions {
            return Err(self.error(name_pos, format!("function {} is not enabled", quote(&name))));
        }
        Ok(Expr::Call(Call {
            func,
            args,
            pos: Pos::new(name_tok.start, end),
        }))
    }

    /// `(arg, …)`; returns the arguments and the end of the closing parenthesis.
    fn parse_call_args(&mut self) -> Result<(Vec<Expr>, usize)> {
        self.expect(Kind::LParen)?;
        let mut args = Vec::new();
        if self.peek().kind == Kind::RParen {
            return Ok((args, self.bump().end));
        }
        self.enter()?;
        loop {
            args.push(self.parse_expr()?);
            match self.peek().kind {
                Kind::Comma => {
                    let comma = self.bump();
                    if self.peek().kind == Kind::RParen {
                        return Err(self.error(
                            Pos::new(comma.start, comma.end),
                            "trailing commas not allowed in function call args",
                        ));
                    }
                }
                Kind::RParen => {
                    self.leave();
                    return Ok((args, self.bump().end));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    // ----- Durations -----

    /// Converts a folded duration to milliseconds as Prometheus does: literals are rounded to
    /// nanoseconds first, computed values truncated to milliseconds.
    fn duration_ms(&self, d: Dur) -> Result<i64> {
        if !within_duration_range(d.secs) {
            return Err(self.error(d.pos, "duration out of range"));
        }
        Ok(if d.literal {
            let ns = (d.secs * 1e9).round() as i64;
            ns / 1_000_000
        } else {
            (d.secs * 1000.0).trunc() as i64
        })
    }

    fn positive_ms(&self, d: Dur) -> Result<i64> {
        let ms = self.duration_ms(d)?;
        if d.secs <= 0.0 || ms <= 0 {
            return Err(self.error(d.pos, "duration must be greater than 0"));
        }
        Ok(ms)
    }

    fn literal(&mut self) -> Result<Dur> {
        let tok = self.bump();
        let secs = self.number_value(tok)?;
        let pos = Pos::new(tok.start, tok.end);
        if !within_duration_range(secs) {
            return Err(self.error(pos, "duration out of range"));
        }
        Ok(Dur {
            secs,
            literal: true,
            pos,
        })
    }

    fn negate(&self, sign: Token, mut d: Dur) -> Result<Dur> {
        if sign.kind == Kind::Sub {
            d.secs = -d.secs;
        }
        d.pos.start = sign.start;
        if d.literal && !within_duration_range(d.secs) {
            return Err(self.error(Pos::new(sign.start, sign.end), "duration out of range"));
        }
        Ok(d)
    }

    fn experimental_duration(&self, pos: Pos) -> Result<()> {
        if self.opts.duration_expressions {
            Ok(())
        } else {
            Err(self.error(pos, "experimental duration expression is not enabled"))
        }
    }

    /// The value after `offset`. Unlike inside brackets, a bare (optionally signed) literal, `step()`,
    /// `range()` or `min`/`max` call ends the offset, so `foo offset 1m + 1m` adds `1m` to the
    /// result; only a parenthesis or a doubled sign starts a longer arithmetic expression.
    fn parse_offset_value(&mut self) -> Result<Dur> {
        let tok = self.peek();
        match tok.kind {
            Kind::Add | Kind::Sub => {
                let next = self.peek_at(1);
                if matches!(next.kind, Kind::Number | Kind::Duration) {
                    // Prometheus checks the range of a signed literal here at the sign.
                    self.bump();
                    let num = self.bump();
                    let secs = self.number_value(num)?;
                    let lit = Dur {
                        secs,
                        literal: true,
                        pos: Pos::new(num.start, num.end),
                    };
                    return self.negate(tok, lit);
                }
                if self.is_duration_function(next) || next.kind == Kind::LParen {
                    self.bump();
                    let inner = self.parse_dur_primary()?;
                    let d = self.negate(tok, inner)?;
                    return Ok(Dur { literal: false, ..d });
                }
                self.bump();
                self.enter()?;
                let operand = self.parse_dur_expr(precedence(BinaryOp::Pow))?;
                self.leave();
                let lhs = self.negate(tok, operand)?;
                self.parse_dur_rest(lhs, 0)
            }
            Kind::Number | Kind::Duration => self.literal(),
            _ if self.is_duration_function(tok) => self.parse_dur_primary(),
            Kind::LParen => self.parse_dur_expr(0),
            _ => Err(self.unexpected()),
        }
    }

    fn is_duration_function(&self, tok: Token) -> bool {
        match tok.kind {
            Kind::Step | Kind::Range | Kind::Agg(AggregateOp::Min | AggregateOp::Max) => true,
            Kind::Ident => matches!(self.text(tok).to_ascii_lowercase().as_str(), "min_of" | "max_of"),
            _ => false,
        }
    }

    fn parse_dur_expr(&mut self, min_prec: u8) -> Result<Dur> {
        self.enter()?;
        let lhs = self.parse_dur_unary()?;
        let out = self.parse_dur_rest(lhs, min_prec)?;
        self.leave();
        Ok(out)
    }

    fn parse_dur_rest(&mut self, mut lhs: Dur, min_prec: u8) -> Result<Dur> {
        loop {
            let op = match self.peek().kind {
                Kind::Add => BinaryOp::Add,
                Kind::Sub => BinaryOp::Sub,
                Kind::Mul => BinaryOp::Mul,
                Kind::Div => BinaryOp::Div,
                Kind::Mod => BinaryOp::Mod,
                Kind::Pow => BinaryOp::Pow,
                _ => return Ok(lhs),
            };
            let prec = precedence(op);
            if prec < min_prec {
                return Ok(lhs);
            }
            let op_tok = self.bump();
            self.experimental_duration(lhs.pos)?;
            let next_min = if op == BinaryOp::Pow { prec } else { prec + 1 };
            self.enter()?;
            let rhs = self.parse_dur_expr(next_min)?;
            self.leave();
            let op_pos = Pos::new(op_tok.start, op_tok.end);
            let secs = match op {
                BinaryOp::Add => lhs.secs + rhs.secs,
                BinaryOp::Sub => lhs.secs - rhs.secs,
                BinaryOp::Mul => lhs.secs * rhs.secs,
                BinaryOp::Div if rhs.secs == 0.0 => return Err(self.error(op_pos, "division by zero")),
                BinaryOp::Div => lhs.secs / rhs.secs,
                BinaryOp::Mod if rhs.secs == 0.0 => return Err(self.error(op_pos, "modulo by zero")),
                BinaryOp::Mod => lhs.secs % rhs.secs,
                _ => lhs.secs.powf(rhs.secs),
            };
            lhs = Dur {
                secs,
                literal: false,
                pos: Pos::new(lhs.pos.start, rhs.pos.end),
            };
        }
    }

    fn parse_dur_unary(&mut self) -> Result<Dur> {
        let tok = self.peek();
        if !matches!(tok.kind, Kind::Add | Kind::Sub) {
            return self.parse_dur_primary();
        }
        self.bump();
        self.enter()?;
        let operand = self.parse_dur_expr(precedence(BinaryOp::Pow))?;
        self.leave();
        self.negate(tok, operand)
    }

    fn parse_dur_primary(&mut self) -> Result<Dur> {
        let tok = self.peek();
        match tok.kind {
            Kind::Number | Kind::Duration => self.literal(),
            Kind::LParen => {
                self.bump();
                self.enter()?;
                let inner = self.parse_dur_expr(0)?;
                self.leave();
                self.experimental_duration(inner.pos)?;
                let close = self.expect(Kind::RParen)?;
                Ok(Dur {
                    pos: Pos::new(tok.start, close.end),
                    ..inner
                })
            }
            Kind::Step | Kind::Range => {
                self.bump();
                self.expect(Kind::LParen)?;
                let close = self.expect(Kind::RParen)?;
                Err(self.error(
                    Pos::new(tok.start, close.end),
                    format!(
                        "{}() in durations is not supported: only constant durations are",
                        self.text(tok).to_ascii_lowercase()
                    ),
                ))
            }
            _ if self.is_duration_function(tok) => {
                self.bump();
                self.expect(Kind::LParen)?;
                self.enter()?;
                let a = self.parse_dur_expr(0)?;
                if self.peek().kind != Kind::Comma {
                    return Err(self.unexpected());
                }
                self.bump();
                let b = self.parse_dur_expr(0)?;
                self.leave();
                let close = self.expect(Kind::RParen)?;
                let is_min = self.text(tok).to_ascii_lowercase().starts_with("min");
                let secs = if is_min {
                    a.secs.min(b.secs)
                } else {
                    a.secs.max(b.secs)
                };
                Ok(Dur {
                    secs,
                    literal: false,
                    pos: Pos::new(tok.start, close.end),
                })
            }
            _ => Err(self.unexpected()),
        }
    }
}

/// Whether `secs` fits a Go `time.Duration`; false for NaN too.
fn within_duration_range(secs: f64) -> bool {
    secs.abs() <= MAX_DURATION_SECS
}

fn binary_op(kind: Kind) -> Option<BinaryOp> {
    Some(match kind {
        Kind::Add => BinaryOp::Add,
        Kind::Sub => BinaryOp::Sub,
        Kind::Mul => BinaryOp::Mul,
        Kind::Div => BinaryOp::Div,
        Kind::Mod => BinaryOp::Mod,
        Kind::Pow => BinaryOp::Pow,
        Kind::Atan2 => BinaryOp::Atan2,
        Kind::Eqlc => BinaryOp::Eql,
        Kind::Neq => BinaryOp::Neq,
        Kind::Gtr => BinaryOp::Gtr,
        Kind::Lss => BinaryOp::Lss,
        Kind::Gte => BinaryOp::Gte,
        Kind::Lte => BinaryOp::Lte,
        Kind::Land => BinaryOp::And,
        Kind::Lor => BinaryOp::Or,
        Kind::Lunless => BinaryOp::Unless,
        _ => return None,
    })
}

/// Prometheus's operator precedence, loosest first.
fn precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => 1,
        BinaryOp::And | BinaryOp::Unless => 2,
        BinaryOp::Eql | BinaryOp::Neq | BinaryOp::Gtr | BinaryOp::Lss | BinaryOp::Gte | BinaryOp::Lte => 3,
        BinaryOp::Add | BinaryOp::Sub => 4,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::Atan2 => 5,
        BinaryOp::Pow => 6,
    }
}

fn match_op(kind: Kind) -> Option<MatchOp> {
    Some(match kind {
        Kind::Assign => MatchOp::Equal,
        Kind::Neq => MatchOp::NotEqual,
        Kind::EqlRegex => MatchOp::Regex,
        Kind::NeqRegex => MatchOp::NotRegex,
        _ => return None,
    })
}

/// Tokens that can name a metric outside braces (Prometheus's `metric_identifier`).
fn is_metric_name(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Ident
            | Kind::MetricIdent
            | Kind::Agg(_)
            | Kind::By
            | Kind::Without
            | Kind::Land
            | Kind::Lor
            | Kind::Lunless
            | Kind::Offset
            | Kind::Start
            | Kind::End
            | Kind::Step
            | Kind::Range
            | Kind::Anchored
            | Kind::Smoothed
    )
}

/// Tokens that can name a label in grouping lists (Prometheus's `maybe_label`).
fn is_label_keyword(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Ident
            | Kind::MetricIdent
            | Kind::Agg(_)
            | Kind::Bool
            | Kind::By
            | Kind::GroupLeft
            | Kind::GroupRight
            | Kind::Ignoring
            | Kind::Land
            | Kind::Lor
            | Kind::Lunless
            | Kind::Offset
            | Kind::On
            | Kind::Start
            | Kind::End
            | Kind::Atan2
            | Kind::Step
            | Kind::Range
            | Kind::Anchored
            | Kind::Smoothed
    )
}
