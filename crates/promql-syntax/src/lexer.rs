//! The PromQL lexer. It follows the state machine of Prometheus's lexer (statements, inside braces,
//! the start of a bracketed duration) because several error messages and even which token a word
//! becomes depend on that state: keywords are plain identifiers inside braces, and inside brackets
//! only durations, arithmetic and a few duration keywords exist. Lexing stops at the first error,
//! which becomes the last token; comments are dropped.

use crate::ast::AggregateOp;
use crate::quote::{quote, quote_rune, unicode_hash};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Eof,
    Error,
    Ident,
    /// An identifier containing `:`, usable as a metric name only.
    MetricIdent,
    Number,
    Duration,
    Str,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    /// `=`
    Assign,
    Colon,
    DoubleColon,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eqlc,
    Neq,
    Lss,
    Lte,
    Gtr,
    Gte,
    /// `</`, native histogram trim operator (experimental, not supported by the parser).
    TrimUpper,
    /// `>/`, native histogram trim operator (experimental, not supported by the parser).
    TrimLower,
    EqlRegex,
    NeqRegex,
    At,
    Land,
    Lor,
    Lunless,
    Atan2,
    Agg(AggregateOp),
    Bool,
    By,
    GroupLeft,
    GroupRight,
    Ignoring,
    Offset,
    Smoothed,
    Anchored,
    On,
    Without,
    Fill,
    FillLeft,
    FillRight,
    Start,
    End,
    Step,
    Range,
}

impl Kind {
    pub(crate) fn is_operator(self) -> bool {
        use Kind::*;
        matches!(
            self,
            Add | Sub
                | Mul
                | Div
                | Mod
                | Pow
                | Eqlc
                | Neq
                | Lss
                | Lte
                | Gtr
                | Gte
                | TrimUpper
                | TrimLower
                | EqlRegex
                | NeqRegex
                | At
                | Land
                | Lor
                | Lunless
                | Atan2
        )
    }

    pub(crate) fn is_keyword(self) -> bool {
        use Kind::*;
        matches!(
            self,
            Bool | By
                | GroupLeft
                | GroupRight
                | Ignoring
                | Offset
                | Smoothed
                | Anchored
                | On
                | Without
                | Fill
                | FillLeft
                | FillRight
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// The tokens of a query. When lexing failed, the last token is [`Kind::Error`] and `error` holds
/// its message; otherwise the last token is [`Kind::Eof`].
pub(crate) struct Lexed {
    pub tokens: Vec<Token>,
    pub error: Option<String>,
}

impl Token {
    /// How Prometheus names a token in "unexpected …" messages.
    pub(crate) fn describe(&self, src: &str) -> String {
        let text = src.get(self.start..self.end).unwrap_or("");
        match self.kind {
            Kind::Eof => "end of input".to_string(),
            Kind::Ident => format!("identifier {}", quote(text)),
            Kind::MetricIdent => format!("metric identifier {}", quote(text)),
            Kind::Str => format!("string {}", crate::quote::quote_truncated(text)),
            Kind::Number => format!("number {}", crate::quote::quote_truncated(text)),
            Kind::Duration => format!("duration {}", crate::quote::quote_truncated(text)),
            Kind::Agg(_) => format!("<aggr:{text}>"),
            k if k.is_operator() => format!("<op:{text}>"),
            k if k.is_keyword() => format!("<{text}>"),
            _ => crate::quote::quote_truncated(text),
        }
    }
}

fn keyword(lower: &str) -> Option<Kind> {
    use AggregateOp::*;
    Some(match lower {
        "and" => Kind::Land,
        "or" => Kind::Lor,
        "unless" => Kind::Lunless,
        "atan2" => Kind::Atan2,
        "sum" => Kind::Agg(Sum),
        "avg" => Kind::Agg(Avg),
        "count" => Kind::Agg(Count),
        "min" => Kind::Agg(Min),
        "max" => Kind::Agg(Max),
        "group" => Kind::Agg(Group),
        "stddev" => Kind::Agg(Stddev),
        "stdvar" => Kind::Agg(Stdvar),
        "topk" => Kind::Agg(Topk),
        "bottomk" => Kind::Agg(Bottomk),
        "count_values" => Kind::Agg(CountValues),
        "quantile" => Kind::Agg(Quantile),
        "limitk" => Kind::Agg(Limitk),
        "limit_ratio" => Kind::Agg(LimitRatio),
        "offset" => Kind::Offset,
        "smoothed" => Kind::Smoothed,
        "anchored" => Kind::Anchored,
        "by" => Kind::By,
        "without" => Kind::Without,
        "on" => Kind::On,
        "ignoring" => Kind::Ignoring,
        "group_left" => Kind::GroupLeft,
        "group_right" => Kind::GroupRight,
        "fill" => Kind::Fill,
        "fill_left" => Kind::FillLeft,
        "fill_right" => Kind::FillRight,
        "bool" => Kind::Bool,
        "start" => Kind::Start,
        "end" => Kind::End,
        "step" => Kind::Step,
        "range" => Kind::Range,
        "inf" | "nan" => Kind::Number,
        _ => return None,
    })
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: Option<char>) -> bool {
    c.is_some_and(|c| is_alpha(c) || c.is_ascii_digit())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Statements,
    InsideBraces,
    /// Right after `[`, until the first number.
    DurationExpr,
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    start: usize,
    /// Byte width of the last character read, so [`Lexer::backup`] can step back once.
    width: usize,
    state: State,
    paren_depth: i64,
    brace_open: bool,
    bracket_open: bool,
    got_colon: bool,
    got_duration: bool,
}

/// Tokenizes `src` up to the end or the first error.
pub(crate) fn lex(src: &str) -> Lexed {
    let mut l = Lexer {
        src,
        pos: 0,
        start: 0,
        width: 0,
        state: State::Statements,
        paren_depth: 0,
        brace_open: false,
        bracket_open: false,
        got_colon: false,
        got_duration: false,
    };
    let mut tokens = Vec::new();
    loop {
        match l.next_token() {
            Ok(tok) => {
                tokens.push(tok);
                if tok.kind == Kind::Eof {
                    return Lexed { tokens, error: None };
                }
            }
            Err(msg) => {
                tokens.push(Token {
                    kind: Kind::Error,
                    start: l.start,
                    end: src.len(),
                });
                return Lexed {
                    tokens,
                    error: Some(msg),
                };
            }
        }
    }
}

type Step = Result<Option<Token>, String>;

impl Lexer<'_> {
    fn next(&mut self) -> Option<char> {
        match self.src[self.pos..].chars().next() {
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                Some(c)
            }
            None => {
                self.width = 0;
                None
            }
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn backup(&mut self) {
        self.pos -= self.width;
        self.width = 0;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn is(&self, valid: &str) -> bool {
        self.peek().is_some_and(|c| valid.contains(c))
    }

    /// A parenthesis, tracking the nesting depth (both lexer states that allow them share this).
    fn paren(&mut self, c: char) -> Step {
        if c == '(' {
            self.paren_depth += 1;
            return self.emit(Kind::LParen);
        }
        let tok = self.emit(Kind::RParen);
        self.paren_depth -= 1;
        if self.paren_depth < 0 {
            return Err("unexpected right parenthesis ')'".into());
        }
        tok
    }

    fn emit(&mut self, kind: Kind) -> Step {
        let tok = Token {
            kind,
            start: self.start,
            end: self.pos,
        };
        self.start = self.pos;
        Ok(Some(tok))
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.next();
        }
        self.ignore();
    }

    fn next_token(&mut self) -> Result<Token, String> {
        loop {
            let step = match self.state {
                State::Statements => self.lex_statements(),
                State::InsideBraces => self.lex_inside_braces(),
                State::DurationExpr => self.lex_duration_expr(),
            };
            if let Some(tok) = step? {
                return Ok(tok);
            }
        }
    }

    fn skip_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' || c == '\r' {
                break;
            }
            self.next();
        }
        self.ignore();
    }

    fn lex_statements(&mut self) -> Step {
        if self.brace_open {
            self.state = State::InsideBraces;
            return Ok(None);
        }
        if self.src[self.pos..].starts_with('#') {
            self.skip_comment();
            return Ok(None);
        }
        let Some(r) = self.next() else {
            if self.paren_depth != 0 {
                return Err("unclosed left parenthesis".into());
            }
            if self.bracket_open {
                return Err("unclosed left bracket".into());
            }
            return self.emit(Kind::Eof);
        };
        match r {
            ',' => self.emit(Kind::Comma),
            c if is_space(c) => {
                self.skip_spaces();
                Ok(None)
            }
            '*' => self.emit(Kind::Mul),
            '/' => self.emit(Kind::Div),
            '%' => self.emit(Kind::Mod),
            '+' => self.emit(Kind::Add),
            '-' => self.emit(Kind::Sub),
            '^' => self.emit(Kind::Pow),
            '=' => match self.peek() {
                Some('=') => {
                    self.next();
                    self.emit(Kind::Eqlc)
                }
                Some('~') => Err("unexpected character after '=': '~'".into()),
                _ => self.emit(Kind::Assign),
            },
            '!' => {
                let t = self.next();
                if t != Some('=') {
                    return Err(format!("unexpected character after '!': {}", quote_rune(t)));
                }
                self.emit(Kind::Neq)
            }
            '<' => match self.peek() {
                Some('=') => {
                    self.next();
                    self.emit(Kind::Lte)
                }
                Some('/') => {
                    self.next();
                    self.emit(Kind::TrimUpper)
                }
                _ => self.emit(Kind::Lss),
            },
            '>' => match self.peek() {
                Some('=') => {
                    self.next();
                    self.emit(Kind::Gte)
                }
                Some('/') => {
                    self.next();
                    self.emit(Kind::TrimLower)
                }
                _ => self.emit(Kind::Gtr),
            },
            c if c.is_ascii_digit() || (c == '.' && self.peek().is_some_and(|d| d.is_ascii_digit())) => {
                self.backup();
                self.lex_number_or_duration()
            }
            '"' | '\'' => self.lex_string(r),
            '`' => self.lex_raw_string(),
            c if is_alpha(c) || c == ':' => {
                if !self.bracket_open {
                    self.backup();
                    return self.lex_keyword_or_identifier();
                }
                match c {
                    ':' => {
                        if self.got_colon {
                            return Err("unexpected colon ':'".into());
                        }
                        self.got_colon = true;
                        if self.peek() == Some(':') {
                            self.next();
                            self.emit(Kind::DoubleColon)
                        } else {
                            self.emit(Kind::Colon)
                        }
                    }
                    's' | 'S' | 'm' | 'M' => match self.scan_duration_keyword() {
                        Some(kind) => self.emit(kind),
                        None => Err(format!(
                            "unexpected character: {}, expected ':'",
                            quote_rune(Some(c))
                        )),
                    },
                    _ => Err(format!(
                        "unexpected character: {}, expected ':'",
                        quote_rune(Some(c))
                    )),
                }
            }
            '(' | ')' => self.paren(r),
            '{' => {
                self.brace_open = true;
                self.state = State::InsideBraces;
                self.emit(Kind::LBrace)
            }
            '[' => {
                if self.bracket_open {
                    return Err("unexpected left bracket '['".into());
                }
                self.got_colon = false;
                let tok = self.emit(Kind::LBracket);
                self.skip_spaces();
                self.bracket_open = true;
                self.state = State::DurationExpr;
                tok
            }
            ']' => {
                if !self.bracket_open {
                    return Err("unexpected right bracket ']'".into());
                }
                self.bracket_open = false;
                self.emit(Kind::RBracket)
            }
            '@' => self.emit(Kind::At),
            c => Err(format!("unexpected character: {}", quote_rune(Some(c)))),
        }
    }

    fn lex_inside_braces(&mut self) -> Step {
        if self.src[self.pos..].starts_with('#') {
            self.skip_comment();
            return Ok(None);
        }
        let Some(r) = self.next() else {
            return Err("unexpected end of input inside braces".into());
        };
        match r {
            c if is_space(c) => {
                self.skip_spaces();
                Ok(None)
            }
            c if is_alpha(c) => {
                while is_alnum(self.peek()) {
                    self.next();
                }
                self.emit(Kind::Ident)
            }
            ',' => self.emit(Kind::Comma),
            '"' | '\'' => self.lex_string(r),
            '`' => self.lex_raw_string(),
            '=' => {
                if self.peek() == Some('~') {
                    self.next();
                    self.emit(Kind::EqlRegex)
                } else {
                    self.emit(Kind::Assign)
                }
            }
            '!' => match self.next() {
                Some('~') => self.emit(Kind::NeqRegex),
                Some('=') => self.emit(Kind::Neq),
                other => Err(format!(
                    "unexpected character after '!' inside braces: {}",
                    quote_rune(other)
                )),
            },
            '{' => Err("unexpected left brace '{'".into()),
            '}' => {
                self.brace_open = false;
                self.state = State::Statements;
                self.emit(Kind::RBrace)
            }
            c => Err(format!(
                "unexpected character inside braces: {}",
                quote_rune(Some(c))
            )),
        }
    }

    fn lex_duration_expr(&mut self) -> Step {
        let Some(r) = self.next() else {
            return Err("unexpected end of input in duration expression".into());
        };
        match r {
            ']' => {
                self.bracket_open = false;
                self.got_colon = false;
                self.state = State::Statements;
                self.emit(Kind::RBracket)
            }
            ':' => {
                let tok = self.emit(Kind::Colon);
                if !self.got_duration {
                    return Err("unexpected colon before duration in duration expression".into());
                }
                if self.got_colon {
                    return Err("unexpected repeated colon in duration expression".into());
                }
                self.got_colon = true;
                tok
            }
            '(' | ')' => self.paren(r),
            c if is_space(c) => {
                self.skip_spaces();
                Ok(None)
            }
            '+' => self.emit(Kind::Add),
            '-' => self.emit(Kind::Sub),
            '*' => self.emit(Kind::Mul),
            '/' => self.emit(Kind::Div),
            '%' => self.emit(Kind::Mod),
            '^' => self.emit(Kind::Pow),
            ',' => self.emit(Kind::Comma),
            's' | 'S' | 'm' | 'M' | 'r' | 'R' => match self.scan_duration_keyword() {
                Some(kind) => self.emit(kind),
                None => Err(format!(
                    "unexpected character in duration expression: {}",
                    quote_rune(Some(r))
                )),
            },
            c if c.is_ascii_digit() || (c == '.' && self.peek().is_some_and(|d| d.is_ascii_digit())) => {
                self.backup();
                self.got_duration = true;
                self.state = State::Statements;
                self.lex_number_or_duration()
            }
            c => Err(format!(
                "unexpected character in duration expression: {}",
                quote_rune(Some(c))
            )),
        }
    }

    /// The word starting at `start` inside brackets: `step`, `range` and the two-argument
    /// `min`/`max` (also spelled `min_of`/`max_of`) of duration expressions.
    fn scan_duration_keyword(&mut self) -> Option<Kind> {
        while self.peek().is_some_and(is_alpha) {
            self.next();
        }
        match self.src[self.start..self.pos].to_ascii_lowercase().as_str() {
            "step" => Some(Kind::Step),
            "range" => Some(Kind::Range),
            "min" => Some(Kind::Agg(AggregateOp::Min)),
            "max" => Some(Kind::Agg(AggregateOp::Max)),
            "min_of" | "max_of" => Some(Kind::Ident),
            _ => None,
        }
    }

    fn lex_number_or_duration(&mut self) -> Step {
        if self.scan_number() {
            return self.emit(Kind::Number);
        }
        if self.accept_remaining_duration() {
            self.backup();
            return self.emit(Kind::Duration);
        }
        Err(format!(
            "bad number or duration syntax: {}",
            quote(&self.src[self.start..self.pos])
        ))
    }

    fn accept_remaining_duration(&mut self) -> bool {
        if !self.accept("smhdwy") {
            return false;
        }
        self.accept("s");
        while self.accept("0123456789") {
            while self.accept("0123456789") {}
            if !self.accept("smhdw") {
                return false;
            }
            self.accept("s");
        }
        let next = self.next();
        !is_alnum(next)
    }

    /// Scans a number the way Prometheus does; what it accepts is not necessarily a valid number,
    /// which the parser then reports.
    fn scan_number(&mut self) -> bool {
        const DEC: &str = "0123456789";
        const HEX: &str = "0123456789abcdefABCDEF";
        let initial = self.pos;
        let mut digits = DEC;
        if self.accept("0") && self.accept("xX") {
            self.accept("_");
            digits = HEX;
        }
        let hex = digits.len() > DEC.len();
        self.accept(".");
        self.accept(digits);
        let mut dot_consumed = false;
        let mut exp_consumed = false;
        while self.is(digits) || self.is("._eE") {
            if self.is(".") && dot_consumed {
                self.accept(".");
                return false;
            }
            if self.is("eE") && exp_consumed {
                self.accept("eE");
                return false;
            }
            if self.accept(".") {
                dot_consumed = true;
                if self.accept("_.") || hex {
                    return false;
                }
                continue;
            }
            if self.accept("eE") {
                exp_consumed = true;
                self.accept("+-");
                if self.accept("._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            if self.accept("_") {
                if self.accept("._eE") || self.peek().is_none() {
                    return false;
                }
                continue;
            }
            while self.accept(digits) {}
        }
        if self.pos == initial {
            return false;
        }
        !is_alnum(self.peek())
    }

    fn lex_keyword_or_identifier(&mut self) -> Step {
        while self
            .peek()
            .is_some_and(|c| is_alpha(c) || c.is_ascii_digit() || c == ':')
        {
            self.next();
        }
        let word = &self.src[self.start..self.pos];
        let kind = match keyword(&word.to_ascii_lowercase()) {
            // The fill modifiers are keywords only before `(`, so `fill` still works as a metric name.
            Some(Kind::Fill | Kind::FillLeft | Kind::FillRight) if !self.followed_by_left_paren() => {
                Kind::Ident
            }
            Some(kind) => kind,
            None if word.contains(':') => Kind::MetricIdent,
            None => Kind::Ident,
        };
        self.emit(kind)
    }

    fn followed_by_left_paren(&self) -> bool {
        self.src[self.pos..].chars().find(|&c| !is_space(c)) == Some('(')
    }

    fn lex_string(&mut self, quote_char: char) -> Step {
        loop {
            match self.next() {
                Some('\\') => self.lex_escape(quote_char)?,
                Some('\u{fffd}') => return Err("invalid UTF-8 rune".into()),
                None | Some('\n') => return Err("unterminated quoted string".into()),
                Some(c) if c == quote_char => break,
                Some(_) => {}
            }
        }
        self.state = State::Statements;
        self.emit(Kind::Str)
    }

    fn lex_raw_string(&mut self) -> Step {
        loop {
            match self.next() {
                Some('\u{fffd}') => return Err("invalid UTF-8 rune".into()),
                None => return Err("unterminated raw string".into()),
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.state = State::Statements;
        self.emit(Kind::Str)
    }

    /// Validates one escape sequence; the backslash has been read.
    fn lex_escape(&mut self, quote_char: char) -> Result<(), String> {
        let ch = self.next();
        let (mut n, base, max, mut ch) = match ch {
            Some('a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\') => return Ok(()),
            Some(c) if c == quote_char => return Ok(()),
            Some(c @ '0'..='7') => (3, 8, 255, Some(c)),
            Some('x') => (2, 16, 255, self.next()),
            Some('u') => (4, 16, 0x10ffff, self.next()),
            Some('U') => (8, 16, 0x10ffff, self.next()),
            None => return Err("escape sequence not terminated".into()),
            Some(c) => return Err(format!("unknown escape sequence {}", unicode_hash(c))),
        };
        let mut x: u32 = 0;
        while n > 0 {
            let d = ch.and_then(|c| c.to_digit(16)).unwrap_or(16);
            if d >= base {
                return Err(match ch {
                    None => "escape sequence not terminated".into(),
                    Some(c) => format!("illegal character {} in escape sequence", unicode_hash(c)),
                });
            }
            x = x * base + d;
            n -= 1;
            if n > 0 {
                ch = self.next();
            }
        }
        if x > max || (0xd800..0xe000).contains(&x) {
            return Err("escape sequence is an invalid Unicode code point".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Kind> {
        lex(src).tokens.iter().map(|t| t.kind).collect()
    }

    fn error(src: &str) -> (String, usize) {
        let lexed = lex(src);
        let last = lexed.tokens.last().unwrap();
        (lexed.error.unwrap(), last.start)
    }

    #[test]
    fn tokens() {
        use Kind::*;
        assert_eq!(
            kinds(r#"sum by (a) (rate(foo:bar{x=~"y"}[5m:1m] offset -1h @ start())) # c"#),
            vec![
                Agg(AggregateOp::Sum),
                By,
                LParen,
                Ident,
                RParen,
                LParen,
                Ident,
                LParen,
                MetricIdent,
                LBrace,
                Ident,
                EqlRegex,
                Str,
                RBrace,
                LBracket,
                Duration,
                Colon,
                Duration,
                RBracket,
                Offset,
                Sub,
                Duration,
                At,
                Start,
                LParen,
                RParen,
                RParen,
                RParen,
                Eof
            ]
        );
        assert_eq!(
            kinds("{sum=\"x\"}"),
            vec![LBrace, Ident, Assign, Str, RBrace, Eof]
        );
        assert_eq!(
            kinds("Inf nan 0x1f 1e3 .5"),
            vec![Number, Number, Number, Number, Number, Eof]
        );
        assert_eq!(
            kinds("fill + fill(1)"),
            vec![Ident, Add, Fill, LParen, Number, RParen, Eof]
        );
        assert_eq!(
            kinds("a != b == c <= d"),
            vec![Ident, Neq, Ident, Eqlc, Ident, Lte, Ident, Eof]
        );
        assert_eq!(
            kinds("x[step()]"),
            vec![Ident, LBracket, Step, LParen, RParen, RBracket, Eof]
        );
    }

    #[test]
    fn errors_and_positions() {
        assert_eq!(error("(1))"), ("unexpected right parenthesis ')'".into(), 4));
        assert_eq!(error("((1)"), ("unclosed left parenthesis".into(), 4));
        assert_eq!(error("1 =~ 1"), ("unexpected character after '=': '~'".into(), 2));
        assert_eq!(error("1 !~ 1"), ("unexpected character after '!': '~'".into(), 2));
        assert_eq!(
            error("0deadbeef"),
            (r#"bad number or duration syntax: "0de""#.into(), 0)
        );
        assert_eq!(
            error("2.5."),
            (r#"bad number or duration syntax: "2.5.""#.into(), 0)
        );
        assert_eq!(
            error("100..4"),
            (r#"bad number or duration syntax: "100..""#.into(), 0)
        );
        assert_eq!(
            error("foo[5mm]"),
            (r#"bad number or duration syntax: "5mm""#.into(), 4)
        );
        assert_eq!(
            error("foo[5m1]"),
            (r#"bad number or duration syntax: "5m1""#.into(), 4)
        );
        assert_eq!(error(r#""\c""#), ("unknown escape sequence U+0063 'c'".into(), 0));
        assert_eq!(
            error(r#""\x.""#),
            ("illegal character U+002E '.' in escape sequence".into(), 0)
        );
        assert_eq!(error(r#""\"#), ("escape sequence not terminated".into(), 0));
        assert_eq!(
            error(r#""\ud800""#),
            ("escape sequence is an invalid Unicode code point".into(), 0)
        );
        assert_eq!(error("`\\``"), ("unterminated raw string".into(), 3));
        assert_eq!(error("foo{"), ("unexpected end of input inside braces".into(), 4));
        assert_eq!(
            error("foo{a*\"b\"}"),
            ("unexpected character inside braces: '*'".into(), 5)
        );
        assert_eq!(
            error("foo[\"5m\"]"),
            ("unexpected character in duration expression: '\"'".into(), 4)
        );
        assert_eq!(
            error("foo[5s x 5s]"),
            ("unexpected character: 'x', expected ':'".into(), 7)
        );
        assert_eq!(
            error("foo["),
            ("unexpected end of input in duration expression".into(), 4)
        );
        assert_eq!(error("}"), ("unexpected character: '}'".into(), 0));
        assert_eq!(error("."), ("unexpected character: '.'".into(), 0));
    }
}
