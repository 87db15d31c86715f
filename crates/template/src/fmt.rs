//! Go's `fmt` printing (`Sprint`, `Sprintln`, `Sprintf`) and `strconv` number and string
//! formatting over [`Value`]s, byte for byte: shortest floats with Go's exponent style (`1e+06`),
//! verbs, flags, widths, and the inline error forms (`%!d(string=foo)`, `%!v(MISSING)`).

use crate::time::duration_string;
use crate::value::Value;

/// Go's `fmt.Sprint`: operands printed with `%v`, with a space between two operands when
/// neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = arg.as_str().is_some();
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.f = Flags::default();
        p.print_arg(arg, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// Go's `fmt.Sprintln`: operands printed with `%v`, separated by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.f = Flags::default();
        p.print_arg(arg, 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// `%v` of one value, as `fmt.Sprint(v)` prints it.
pub fn value_string(v: &Value) -> String {
    let mut p = Printer::default();
    p.print_arg(v, 'v');
    p.buf
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    p.do_printf(format, args);
    p.buf
}

/// Go's `strconv.FormatFloat(v, fmt, prec, 64)` for `fmt` in `e E f g G`; `prec` < 0 asks for
/// the shortest representation that reads back exactly.
pub fn format_float(v: f64, fmt: char, prec: i32) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let neg = v.is_sign_negative();
    let abs = v.abs();
    let shortest = prec < 0;
    let mut out = String::new();
    match fmt {
        'e' | 'E' => {
            let digs = if shortest {
                Digits::shortest(abs)
            } else {
                Digits::significant(abs, prec as usize + 1)
            };
            let p = if shortest {
                digs.d.len().saturating_sub(1)
            } else {
                prec as usize
            };
            fmt_e(&mut out, neg, &digs, p, fmt);
        }
        'f' | 'F' => {
            if shortest {
                let digs = Digits::shortest(abs);
                let p = (digs.d.len() as i64 - i64::from(digs.dp)).max(0) as usize;
                fmt_f(&mut out, neg, &digs, p);
            } else {
                if neg {
                    out.push('-');
                }
                out.push_str(&format!("{:.*}", prec as usize, abs));
            }
        }
        _ => {
            let upper = fmt == 'G';
            let (digs, mut p, mut eprec) = if shortest {
                let digs = Digits::shortest(abs);
                let n = digs.d.len();
                (digs, n, 6usize)
            } else {
                let p = (prec as usize).max(1);
                (Digits::significant(abs, p), p, p)
            };
            let nd = digs.d.len();
            if !shortest && eprec > nd && nd as i64 >= i64::from(digs.dp) {
                eprec = nd;
            }
            let exp = i64::from(digs.dp) - 1;
            if exp < -4 || exp >= eprec as i64 {
                if p > nd {
                    p = nd;
                }
                fmt_e(
                    &mut out,
                    neg,
                    &digs,
                    p.saturating_sub(1),
                    if upper { 'E' } else { 'e' },
                );
            } else {
                if p as i64 > i64::from(digs.dp) {
                    p = nd;
                }
                let frac = (p as i64 - i64::from(digs.dp)).max(0) as usize;
                fmt_f(&mut out, neg, &digs, frac);
            }
        }
    }
    out
}

/// The decimal digits of a finite non-negative float: `d` without trailing zeros, the decimal
/// point after `dp` digits. Zero has no digits and `dp` 0, as in Go's strconv.
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

impl Digits {
    fn from_sci(s: &str) -> Digits {
        let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
        while d.last() == Some(&b'0') {
            d.pop();
        }
        if d.is_empty() {
            return Digits { d, dp: 0 };
        }
        Digits { d, dp: exp + 1 }
    }

    /// The shortest digits that read back as `v` (Rust and Go both pick the closest).
    fn shortest(v: f64) -> Digits {
        Digits::from_sci(&format!("{v:e}"))
    }

    /// `n` significant digits, correctly rounded.
    fn significant(v: f64, n: usize) -> Digits {
        Digits::from_sci(&format!("{:.*e}", n.saturating_sub(1), v))
    }
}

fn fmt_e(out: &mut String, neg: bool, digs: &Digits, prec: usize, fmt: char) {
    if neg {
        out.push('-');
    }
    out.push(digs.d.first().map_or('0', |&c| char::from(c)));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digs.d.get(i).map_or('0', |&c| char::from(c)));
        }
    }
    out.push(fmt);
    let exp = if digs.d.is_empty() { 0 } else { digs.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

fn fmt_f(out: &mut String, neg: bool, digs: &Digits, prec: usize) {
    if neg {
        out.push('-');
    }
    if digs.dp > 0 {
        let dp = digs.dp as usize;
        for i in 0..dp {
            out.push(digs.d.get(i).map_or('0', |&c| char::from(c)));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as i64 {
            let j = i64::from(digs.dp) + i - 1;
            let c = if j >= 0 {
                digs.d.get(j as usize).copied()
            } else {
                None
            };
            out.push(c.map_or('0', char::from));
        }
    }
}

/// Go's `strconv.Quote` (or `QuoteToASCII` when `ascii`).
pub fn quote(s: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape_char(&mut out, c, '"', ascii);
    }
    out.push('"');
    out
}

fn quote_rune(c: char, ascii: bool) -> String {
    let mut out = String::from('\'');
    escape_char(&mut out, c, '\'', ascii);
    out.push('\'');
    out
}

fn escape_char(out: &mut String, c: char, quote: char, ascii: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if (!ascii || c.is_ascii()) && is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if c < ' ' || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// An approximation of Go's `strconv.IsPrint` (Unicode letters, marks, numbers, punctuation,
/// symbols and the ASCII space) without the Unicode category tables: control, separator,
/// format and private-use characters are not printable.
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xFFFE | 0xFFFF | 0xE000..=0xF8FF
        | 0x110BD | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001..=0xE007F | 0xF0000..)
}

/// Go's `strconv.CanBackquote`.
fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\x7f')))
}

#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

#[derive(Default)]
struct Printer {
    buf: String,
    f: Flags,
}

/// Go's limit on widths and precisions; larger ones are errors, not huge allocations.
const TOO_LARGE: usize = 1_000_000;

impl Printer {
    fn padding(&mut self, n: usize) {
        let c = if self.f.zero { '0' } else { ' ' };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    fn pad(&mut self, s: &str) {
        let Some(wid) = self.f.wid.filter(|&w| w > 0) else {
            self.buf.push_str(s);
            return;
        };
        let n = s.chars().count();
        if n >= wid {
            self.buf.push_str(s);
        } else if self.f.minus {
            self.buf.push_str(s);
            let zero = std::mem::replace(&mut self.f.zero, false);
            self.padding(wid - n);
            self.f.zero = zero;
        } else {
            self.padding(wid - n);
            self.buf.push_str(s);
        }
    }

    fn pad_no_zero(&mut self, s: &str) {
        let zero = std::mem::replace(&mut self.f.zero, false);
        self.pad(s);
        self.f.zero = zero;
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        match self.f.prec {
            Some(p) => s.char_indices().nth(p).map_or(s, |(i, _)| &s[..i]),
            None => s,
        }
    }

    fn bad_verb(&mut self, verb: char, v: &Value) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match v {
            Value::Nil | Value::Missing => self.buf.push_str("<nil>"),
            _ => {
                self.buf.push_str(&v.type_name());
                self.buf.push('=');
                self.print_arg(v, 'v');
            }
        }
        self.buf.push(')');
    }

    fn print_arg(&mut self, v: &Value, verb: char) {
        if verb == 'T' {
            let t = v.type_name();
            let t = self.truncate(&t).to_string();
            self.pad(&t);
            return;
        }
        match v {
            Value::Nil | Value::Missing => {
                if verb == 'v' {
                    self.pad("<nil>");
                } else {
                    self.bad_verb(verb, v);
                }
            }
            Value::Bool(b) => {
                if verb == 't' || verb == 'v' {
                    self.pad(if *b { "true" } else { "false" });
                } else {
                    self.bad_verb(verb, v);
                }
            }
            Value::Int(i) => self.fmt_int_verb(*i, verb, v),
            Value::Float(x) => self.fmt_float_verb(*x, verb, v),
            Value::Str(s) | Value::Html(s) => self.fmt_string(s, verb, v),
            Value::Duration(d) => {
                if is_string_verb(verb) && !self.f.sharp_v {
                    self.fmt_string(&duration_string(*d), verb, v);
                } else {
                    self.fmt_int_verb(*d, verb, v);
                }
            }
            Value::Time(t) => {
                if is_string_verb(verb) {
                    self.fmt_string(&t.go_string(), verb, v);
                } else {
                    self.bad_verb(verb, v);
                }
            }
            Value::Object(o) => {
                if is_string_verb(verb) {
                    self.fmt_string(&o.go_string(), verb, v);
                } else if let Some(u) = o.underlying() {
                    self.print_arg(&u, verb);
                } else if let Some(l) = o.as_list() {
                    self.print_list(l, verb);
                } else {
                    self.bad_verb(verb, v);
                }
            }
            Value::List(l) => {
                if self.f.sharp_v {
                    self.buf.push_str("[]interface {}{");
                    for (i, e) in l.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_elem(e, verb);
                    }
                    self.buf.push('}');
                } else {
                    self.print_list(l, verb);
                }
            }
            Value::Map(_) | Value::StrMap(_) => {
                let Some(view) = v.map_view() else { return };
                if self.f.sharp_v {
                    self.buf.push_str(&v.type_name());
                    self.buf.push('{');
                } else {
                    self.buf.push_str("map[");
                }
                for (i, (k, e)) in view.entries().into_iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if self.f.sharp_v { ", " } else { " " });
                    }
                    self.print_elem(&Value::Str(k), verb);
                    self.buf.push(':');
                    self.print_elem(&e, verb);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
        }
    }

    fn print_list(&mut self, l: &[Value], verb: char) {
        self.buf.push('[');
        for (i, e) in l.iter().enumerate() {
            if i > 0 {
                self.buf.push(' ');
            }
            self.print_elem(e, verb);
        }
        self.buf.push(']');
    }

    /// An element of a slice or map: a nil interface prints `<nil>` without padding.
    fn print_elem(&mut self, v: &Value, verb: char) {
        match v {
            Value::Nil | Value::Missing => self.buf.push_str("<nil>"),
            _ => self.print_arg(v, verb),
        }
    }

    fn fmt_int_verb(&mut self, i: i64, verb: char, v: &Value) {
        let neg = i < 0;
        let u = i.unsigned_abs();
        match verb {
            'v' | 'd' => self.fmt_integer(u, neg, 10, verb, false),
            'b' => self.fmt_integer(u, neg, 2, verb, false),
            'o' | 'O' => self.fmt_integer(u, neg, 8, verb, false),
            'x' => self.fmt_integer(u, neg, 16, verb, false),
            'X' => self.fmt_integer(u, neg, 16, verb, true),
            'c' => {
                let c = if neg { '\u{FFFD}' } else { rune(u) };
                self.pad_no_zero(&c.to_string());
            }
            'q' => {
                let c = if neg { '\u{FFFD}' } else { rune(u) };
                let q = quote_rune(c, self.f.plus);
                self.pad_no_zero(&q);
            }
            'U' => {
                let prec = self.f.prec.filter(|&p| p > 4).unwrap_or(4);
                let mut s = String::from("U+");
                let hex = format!("{:X}", if neg { i as u64 } else { u });
                for _ in hex.len()..prec {
                    s.push('0');
                }
                s.push_str(&hex);
                if self.f.sharp && !neg && u <= 0x10FFFF {
                    let c = rune(u);
                    if is_print(c) {
                        s.push_str(" '");
                        s.push(c);
                        s.push('\'');
                    }
                }
                self.pad_no_zero(&s);
            }
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_integer(&mut self, u: u64, neg: bool, base: u32, verb: char, upper: bool) {
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let zero = std::mem::replace(&mut self.f.zero, false);
                let w = self.f.wid.unwrap_or(0);
                self.padding(w);
                self.f.zero = zero;
                return;
            }
        } else if self.f.zero && !self.f.minus && self.f.wid.is_some() {
            prec = self.f.wid.unwrap_or(0);
            if neg || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut digits = match base {
            2 => format!("{u:b}"),
            8 => format!("{u:o}"),
            16 if upper => format!("{u:X}"),
            16 => format!("{u:x}"),
            _ => u.to_string(),
        };
        if digits.len() < prec {
            digits = "0".repeat(prec - digits.len()) + &digits;
        }
        let mut prefix = String::new();
        if self.f.sharp {
            match base {
                2 => prefix.push_str("0b"),
                8 if !digits.starts_with('0') => prefix.push('0'),
                16 => prefix.push_str(if upper { "0X" } else { "0x" }),
                _ => {}
            }
        }
        if verb == 'O' {
            prefix.insert_str(0, "0o");
        }
        let sign = if neg {
            "-"
        } else if self.f.plus {
            "+"
        } else if self.f.space {
            " "
        } else {
            ""
        };
        let s = format!("{sign}{prefix}{digits}");
        self.pad_no_zero(&s);
    }

    fn fmt_float_verb(&mut self, x: f64, verb: char, v: &Value) {
        match verb {
            'v' => self.fmt_float(x, 'g', -1),
            'g' | 'G' => self.fmt_float(x, verb, -1),
            'e' | 'E' | 'f' => self.fmt_float(x, verb, 6),
            'F' => self.fmt_float(x, 'f', 6),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_float(&mut self, x: f64, verb: char, default_prec: i32) {
        let prec = self.f.prec.map_or(default_prec, |p| p as i32);
        let s = format_float(x, verb, prec);
        let mut num = if s.starts_with('-') || s.starts_with('+') {
            s
        } else {
            format!("+{s}")
        };
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        if num[1..].starts_with('I') || num[1..].starts_with('N') {
            if num[1..].starts_with('N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad_no_zero(&num);
            return;
        }
        if self.f.plus || !num.starts_with('+') {
            let len = num.chars().count();
            if let Some(wid) = self.f.wid
                && self.f.zero
                && !self.f.minus
                && wid > len
            {
                self.buf.push_str(&num[..1]);
                self.padding(wid - len);
                self.buf.push_str(&num[1..]);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }

    fn fmt_string(&mut self, s: &str, verb: char, v: &Value) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => {
                let t = self.truncate(s).to_string();
                self.pad(&t);
            }
            'x' => self.fmt_sx(s, false),
            'X' => self.fmt_sx(s, true),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        let q = if self.f.sharp && can_backquote(s) {
            format!("`{s}`")
        } else {
            quote(s, self.f.plus)
        };
        self.pad(&q);
    }

    fn fmt_sx(&mut self, s: &str, upper: bool) {
        let b = s.as_bytes();
        let length = self.f.prec.map_or(b.len(), |p| p.min(b.len()));
        let mut width = 2 * length;
        if width == 0 {
            if let Some(w) = self.f.wid {
                self.padding(w);
            }
            return;
        }
        if self.f.space {
            if self.f.sharp {
                width *= 2;
            }
            width += length - 1;
        } else if self.f.sharp {
            width += 2;
        }
        let wid = self.f.wid.unwrap_or(0);
        if wid > width && !self.f.minus {
            self.padding(wid - width);
        }
        let x = if upper { "0X" } else { "0x" };
        if self.f.sharp {
            self.buf.push_str(x);
        }
        for (i, c) in b[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push_str(x);
                }
            }
            if upper {
                self.buf.push_str(&format!("{c:02X}"));
            } else {
                self.buf.push_str(&format!("{c:02x}"));
            }
        }
        if wid > width && self.f.minus {
            self.padding(wid - width);
        }
    }

    fn do_printf(&mut self, format: &str, args: &[Value]) {
        let b = format.as_bytes();
        let end = b.len();
        let mut arg_num = 0usize;
        let mut reordered = false;
        let mut i = 0usize;
        while i < end {
            let mut good_arg_num = true;
            let lasti = i;
            while i < end && b[i] != b'%' {
                i += 1;
            }
            if i > lasti {
                self.buf.push_str(&format[lasti..i]);
            }
            if i >= end {
                break;
            }
            i += 1;
            self.f = Flags::default();
            while i < end {
                match b[i] {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    _ => break,
                }
                i += 1;
            }
            // An explicit argument index, then width.
            let mut after_index;
            (arg_num, i, after_index) =
                self.arg_number(arg_num, format, i, args.len(), &mut reordered, &mut good_arg_num);
            if i < end && b[i] == b'*' {
                i += 1;
                let (n, ok, next) = int_from_arg(args, arg_num);
                arg_num = next;
                if ok {
                    if n < 0 {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    self.f.wid = Some(n.unsigned_abs() as usize);
                } else {
                    self.buf.push_str("%!(BADWIDTH)");
                }
                after_index = false;
            } else {
                let (n, ok, next) = parse_num(b, i, end);
                i = next;
                if ok {
                    self.f.wid = Some(n);
                    if after_index {
                        good_arg_num = false;
                    }
                }
            }
            // Precision.
            if i + 1 < end && b[i] == b'.' {
                i += 1;
                if after_index {
                    good_arg_num = false;
                }
                (arg_num, i, after_index) =
                    self.arg_number(arg_num, format, i, args.len(), &mut reordered, &mut good_arg_num);
                if i < end && b[i] == b'*' {
                    i += 1;
                    let (n, ok, next) = int_from_arg(args, arg_num);
                    arg_num = next;
                    if ok && n >= 0 {
                        self.f.prec = Some(n as usize);
                    } else {
                        self.f.prec = None;
                        if !ok {
                            self.buf.push_str("%!(BADPREC)");
                        }
                    }
                    after_index = false;
                } else {
                    let (n, ok, next) = parse_num(b, i, end);
                    i = next;
                    self.f.prec = Some(if ok { n } else { 0 });
                }
            }
            if !after_index {
                (arg_num, i, _) =
                    self.arg_number(arg_num, format, i, args.len(), &mut reordered, &mut good_arg_num);
            }
            if i >= end {
                self.buf.push_str("%!(NOVERB)");
                break;
            }
            let Some(verb) = format[i..].chars().next() else {
                break;
            };
            i += verb.len_utf8();
            if verb == '%' {
                self.buf.push('%');
            } else if !good_arg_num {
                self.buf.push_str(&format!("%!{verb}(BADINDEX)"));
            } else if arg_num >= args.len() {
                self.buf.push_str(&format!("%!{verb}(MISSING)"));
            } else {
                if verb == 'v' {
                    self.f.sharp_v = self.f.sharp;
                    self.f.sharp = false;
                    self.f.plus = false;
                }
                self.print_arg(&args[arg_num], verb);
                arg_num += 1;
            }
        }
        if !reordered && arg_num < args.len() {
            self.f = Flags::default();
            self.buf.push_str("%!(EXTRA ");
            for (i, arg) in args[arg_num..].iter().enumerate() {
                if i > 0 {
                    self.buf.push_str(", ");
                }
                match arg {
                    Value::Nil | Value::Missing => self.buf.push_str("<nil>"),
                    _ => {
                        self.buf.push_str(&arg.type_name());
                        self.buf.push('=');
                        self.print_arg(arg, 'v');
                    }
                }
            }
            self.buf.push(')');
        }
    }

    /// `[n]` argument indexes: the new argument number, position, and whether one was found.
    fn arg_number(
        &mut self,
        arg_num: usize,
        format: &str,
        i: usize,
        num_args: usize,
        reordered: &mut bool,
        good: &mut bool,
    ) -> (usize, usize, bool) {
        let b = format.as_bytes();
        if i >= b.len() || b[i] != b'[' {
            return (arg_num, i, false);
        }
        *reordered = true;
        let rest = &b[i..];
        let (index, wid, ok) = parse_arg_number(rest);
        if ok && index < num_args {
            return (index, i + wid, true);
        }
        *good = false;
        (arg_num, i + wid, ok)
    }
}

fn is_string_verb(verb: char) -> bool {
    matches!(verb, 'v' | 's' | 'x' | 'X' | 'q')
}

fn rune(u: u64) -> char {
    u32::try_from(u)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}')
}

/// Go's `parsenum`: digits at `start`; an absurdly large number consumes the rest of the format.
fn parse_num(b: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    let mut num = 0usize;
    let mut is_num = false;
    let mut i = start;
    while i < end && b[i].is_ascii_digit() {
        if num > TOO_LARGE {
            return (0, false, end);
        }
        num = num * 10 + usize::from(b[i] - b'0');
        is_num = true;
        i += 1;
    }
    (num, is_num, i)
}

/// `[n]` at the start of `b`: zero-based index, bytes consumed, and whether it was well formed.
fn parse_arg_number(b: &[u8]) -> (usize, usize, bool) {
    if b.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..b.len() {
        if b[i] == b']' {
            let (n, ok, next) = parse_num(b, 1, i);
            if !ok || next != i {
                return (0, i + 1, false);
            }
            // `[0]` is well formed but out of range, as Go's index -1 is.
            return (n.checked_sub(1).unwrap_or(usize::MAX), i + 1, true);
        }
    }
    (0, 1, false)
}

/// A `*` width or precision taken from the argument list.
fn int_from_arg(args: &[Value], arg_num: usize) -> (i64, bool, usize) {
    let Some(arg) = args.get(arg_num) else {
        return (0, false, arg_num);
    };
    let n = match arg.basic() {
        Value::Int(i) | Value::Duration(i) => Some(i),
        _ => None,
    };
    match n {
        Some(n) if n.unsigned_abs() <= TOO_LARGE as u64 => (n, true, arg_num + 1),
        _ => (0, false, arg_num + 1),
    }
}
