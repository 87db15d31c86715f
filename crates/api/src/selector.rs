//! Parses series selectors as used in `match[]` (`up`, `up{job="x"}`, `{__name__=~"a.*", "utf8.name"="v"}`)
//! into matchers. Errors read like Prometheus's: `1:5: parse error: …`.

use storage::{MatchOp, Matcher};

pub fn parse(input: &str) -> Result<Vec<Matcher>, String> {
    let mut p = P {
        s: input.as_bytes(),
        src: input,
        pos: 0,
    };
    let ms = p.selector()?;
    p.ws();
    if p.pos < p.s.len() {
        return Err(p.err(&format!(
            "unexpected character {:?} after selector",
            p.rest_char()
        )));
    }
    if ms.iter().all(|m| m.matches_empty()) {
        return Err(format!(
            "parse error: vector selector must contain at least one non-empty matcher: {input}"
        ));
    }
    Ok(ms)
}

struct P<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
}

impl P<'_> {
    fn err(&self, msg: &str) -> String {
        format!("1:{}: parse error: {msg}", self.pos + 1)
    }

    fn rest_char(&self) -> char {
        self.src[self.pos..].chars().next().unwrap_or(' ')
    }

    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn ident(&mut self, metric: bool) -> Option<String> {
        let start = self.pos;
        while self.pos < self.s.len() {
            let c = self.s[self.pos];
            let ok = c == b'_'
                || c.is_ascii_alphabetic()
                || (metric && c == b':')
                || (self.pos > start && c.is_ascii_digit());
            if !ok {
                break;
            }
            self.pos += 1;
        }
        (self.pos > start).then(|| self.src[start..self.pos].to_owned())
    }

    fn string(&mut self) -> Result<String, String> {
        let q = self
            .s
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.err("unexpected end of input, expected string"))?;
        if !matches!(q, b'"' | b'\'' | b'`') {
            return Err(self.err(&format!(
                "unexpected character {:?}, expected string",
                self.rest_char()
            )));
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self.src[self.pos..]
                .chars()
                .next()
                .ok_or_else(|| self.err("unterminated quoted string"))?;
            self.pos += c.len_utf8();
            if c as u32 == q as u32 {
                return Ok(out);
            }
            if c == '\\' && q != b'`' {
                let e = self.src[self.pos..]
                    .chars()
                    .next()
                    .ok_or_else(|| self.err("unterminated quoted string"))?;
                self.pos += e.len_utf8();
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' | '"' | '\'' => out.push(e),
                    _ => return Err(self.err(&format!("unknown escape sequence \\{e}"))),
                }
            } else {
                out.push(c);
            }
        }
    }

    fn selector(&mut self) -> Result<Vec<Matcher>, String> {
        self.ws();
        let mut out = Vec::new();
        if let Some(name) = self.ident(true) {
            out.push(Matcher::eq(model::METRIC_NAME, name));
        }
        self.ws();
        if self.s.get(self.pos) != Some(&b'{') {
            if out.is_empty() {
                return Err(self.err("unexpected character, expected metric name or '{'"));
            }
            return Ok(out);
        }
        self.pos += 1;
        loop {
            self.ws();
            match self.s.get(self.pos) {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(out);
                }
                None => return Err(self.err("unexpected end of input inside braces")),
                _ => {}
            }
            let name = if matches!(self.s.get(self.pos), Some(b'"' | b'\'' | b'`')) {
                self.string()?
            } else {
                self.ident(false).ok_or_else(|| {
                    self.err(&format!(
                        "unexpected character inside braces: {:?}",
                        self.rest_char()
                    ))
                })?
            };
            self.ws();
            let op = match (self.s.get(self.pos), self.s.get(self.pos + 1)) {
                (Some(b'='), Some(b'~')) => Some((MatchOp::Regex, 2)),
                (Some(b'!'), Some(b'~')) => Some((MatchOp::NotRegex, 2)),
                (Some(b'!'), Some(b'=')) => Some((MatchOp::NotEqual, 2)),
                (Some(b'='), _) => Some((MatchOp::Equal, 1)),
                _ => None,
            };
            match op {
                None => {
                    // A lone quoted string is a metric name (Prometheus 3 UTF-8 syntax).
                    if out.iter().any(|m| m.name == model::METRIC_NAME) {
                        return Err(self.err(&format!(
                            "unexpected {:?} after label name, expected label matching operator",
                            self.rest_char()
                        )));
                    }
                    out.push(Matcher::eq(model::METRIC_NAME, name));
                }
                Some((op, len)) => {
                    self.pos += len;
                    self.ws();
                    let value = self.string()?;
                    out.push(Matcher::new(op, name, value).map_err(|e| self.err(&e.to_string()))?);
                }
            }
            self.ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                None => return Err(self.err("unexpected end of input inside braces")),
                _ => return Err(self.err("unexpected character inside braces, expected ',' or '}'")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_selectors() {
        let m = parse(r#"up{job="a", instance=~"h.*" , x!='y',z!~`q\d`}"#).unwrap();
        assert_eq!(
            m.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
            vec![
                r#"__name__="up""#,
                r#"job="a""#,
                r#"instance=~"h.*""#,
                r#"x!="y""#,
                r#"z!~"q\\d""#
            ]
        );
        let m = parse(r#"{"my.metric", "a.b"="c"}"#).unwrap();
        assert_eq!(m[0].to_string(), r#"__name__="my.metric""#);
        assert_eq!(m[1].name, "a.b");
        assert_eq!(
            parse(r#"{job=~".*"}"#).unwrap_err(),
            r#"parse error: vector selector must contain at least one non-empty matcher: {job=~".*"}"#
        );
        assert_eq!(
            parse("up{job=}").unwrap_err(),
            "1:8: parse error: unexpected character '}', expected string"
        );
        assert!(
            parse("up{job=\"a\"")
                .unwrap_err()
                .contains("unexpected end of input")
        );
        assert!(
            parse(r#"up{a=~"("}"#)
                .unwrap_err()
                .contains("invalid regular expression")
        );
    }
}
