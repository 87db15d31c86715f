//! The template parser and syntax tree: actions, pipelines, control structures and `define`d
//! templates, parsed as Go's text/template/parse parses them, with its variable scoping, its
//! parse-time check that functions exist, and its error messages (`template: NAME:LINE: …`).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::fmt::quote;
use crate::funcs::Funcs;
use crate::lex::{Kind, Token, lex};
use crate::strconv::{Unquoted, parse_float, parse_int0, parse_uint0, unquote, unquote_char};

/// How deeply parentheses and control structures may nest; deeper input is an error rather than
/// a risk to the stack.
const MAX_NESTING: usize = 200;

/// One named template: its body and the source it came from, for error positions.
#[derive(Debug)]
pub(crate) struct Tree {
    pub name: String,
    /// The name of the template whose `parse` call produced this tree (Go's `ParseName`).
    pub parse_name: String,
    pub text: Arc<str>,
    pub root: List,
}

impl Tree {
    /// 1-based line and 0-based byte column of `pos`, as Go's `ErrorContext` reports them.
    pub(crate) fn location(&self, pos: usize) -> String {
        let before = &self.text[..pos.min(self.text.len())];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => before.len() - nl - 1,
            None => before.len(),
        };
        format!("{}:{line}:{col}", self.parse_name)
    }
}

#[derive(Debug, Default)]
pub(crate) struct List {
    pub nodes: Vec<Node>,
}

#[derive(Debug)]
pub(crate) enum Node {
    Text {
        pos: usize,
        text: String,
    },
    Action {
        pos: usize,
        pipe: Pipe,
    },
    If(Branch),
    With(Branch),
    Range(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

#[derive(Debug)]
pub(crate) struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

#[derive(Debug)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// An operand of a command.
#[derive(Debug)]
pub(crate) enum Arg {
    /// `.A.B`.
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    /// `$x.A.B`: `idents[0]` is the variable.
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    /// `(pipeline).A.B` or `func.A`.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
    Identifier {
        pos: usize,
        name: String,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        val: bool,
    },
    Number {
        pos: usize,
        num: Number,
    },
    String {
        pos: usize,
        quoted: String,
        text: String,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

/// A numeric literal with every Go type it can be (`1` is an int and a float).
#[derive(Debug)]
pub(crate) struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            match a {
                Arg::Pipe(p) => write!(f, "({p})")?,
                a => write!(f, "{a}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { idents, .. } => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Arg::Chain { node, fields, .. } => {
                match node.as_ref() {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    n => write!(f, "{n}")?,
                }
                for i in fields {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { val, .. } => write!(f, "{val}"),
            Arg::Number { num, .. } => f.write_str(&num.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.nodes {
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let branch = |f: &mut fmt::Formatter<'_>, kw: &str, b: &Branch| {
            write!(f, "{{{{{kw} {}}}}}{}", b.pipe, b.list)?;
            if let Some(e) = &b.else_list {
                write!(f, "{{{{else}}}}{e}")?;
            }
            f.write_str("{{end}}")
        };
        match self {
            Node::Text { text, .. } => f.write_str(text),
            Node::Action { pipe, .. } => write!(f, "{{{{{pipe}}}}}"),
            Node::If(b) => branch(f, "if", b),
            Node::With(b) => branch(f, "with", b),
            Node::Range(b) => branch(f, "range", b),
            Node::Template { name, pipe, .. } => match pipe {
                Some(p) => write!(f, "{{{{template {} {p}}}}}", quote(name, false)),
                None => write!(f, "{{{{template {}}}}}", quote(name, false)),
            },
            Node::Break => f.write_str("{{break}}"),
            Node::Continue => f.write_str("{{continue}}"),
        }
    }
}

/// What ended an item list.
enum End {
    End,
    Else,
}

/// Go's `IsEmptyTree`: only whitespace text and comments.
pub(crate) fn is_empty_list(l: &List) -> bool {
    l.nodes.iter().all(|n| match n {
        Node::Text { text, .. } => text
            .trim_matches([' ', '\t', '\r', '\n', '\x0b', '\x0c'])
            .is_empty(),
        _ => false,
    })
}

/// Parses `text` as the template `name`: the returned set holds that template (possibly empty)
/// and every template the text `define`s or `block`s.
pub(crate) fn parse(name: &str, text: &str, funcs: &Funcs) -> Result<BTreeMap<String, Tree>> {
    let tokens = lex(text, !funcs.contains("break"), !funcs.contains("continue"));
    let mut p = Parser {
        tokens,
        next_idx: 0,
        token: [eof(), eof(), eof()],
        peek_count: 0,
        vars: vec!["$".to_string()],
        parse_name: name.to_string(),
        text: Arc::from(text),
        funcs,
        action_line: 0,
        range_depth: 0,
        nesting: 0,
        trees: BTreeMap::new(),
    };
    let root = p.parse_top()?;
    p.add(name.to_string(), root)?;
    Ok(p.trees)
}

fn eof() -> Token {
    Token {
        kind: Kind::Eof,
        pos: 0,
        val: String::new(),
        line: 0,
    }
}

struct Parser<'f> {
    tokens: Vec<Token>,
    next_idx: usize,
    /// Go's three-token lookahead buffer; `token[0]` is the latest token read from the lexer.
    token: [Token; 3],
    peek_count: usize,
    vars: Vec<String>,
    parse_name: String,
    text: Arc<str>,
    funcs: &'f Funcs,
    action_line: usize,
    range_depth: usize,
    nesting: usize,
    trees: BTreeMap<String, Tree>,
}

impl Parser<'_> {
    fn lex_next(&mut self) -> Token {
        match self.tokens.get(self.next_idx) {
            Some(t) => {
                self.next_idx += 1;
                t.clone()
            }
            None => Token {
                kind: Kind::Eof,
                pos: self.text.len(),
                val: "EOF".to_string(),
                line: self.token[0].line,
            },
        }
    }

    fn next(&mut self) -> Token {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.lex_next();
        }
        self.token[self.peek_count].clone()
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Token) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Token, t1: Token) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Token {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1].clone();
        }
        self.peek_count = 1;
        self.token[0] = self.lex_next();
        self.token[0].clone()
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.kind != Kind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn error(&self, msg: impl fmt::Display) -> Error {
        Error::Parse(format!(
            "template: {}:{}: {msg}",
            self.parse_name, self.token[0].line
        ))
    }

    fn unexpected(&self, token: &Token, context: &str) -> Error {
        if token.kind == Kind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at {}:{}", self.parse_name, self.action_line);
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.error(format!("{}{extra}", token.describe()));
        }
        self.error(format!("unexpected {} in {context}", token.describe()))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> Result<Token> {
        let t = self.next_non_space();
        if t.kind != kind {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn enter(&mut self) -> Result<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.error("max expression depth exceeded"));
        }
        Ok(())
    }

    /// Adds a finished tree to the set; two non-empty definitions of one name in one text are an
    /// error, and an empty one never replaces another.
    fn add(&mut self, name: String, root: List) -> Result<()> {
        if let Some(existing) = self.trees.get(&name)
            && !is_empty_list(&existing.root)
        {
            if !is_empty_list(&root) {
                return Err(self.error(format!(
                    "template: multiple definition of template {}",
                    quote(&name, false)
                )));
            }
            return Ok(());
        }
        let tree = Tree {
            name: name.clone(),
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root,
        };
        self.trees.insert(name, tree);
        Ok(())
    }

    fn parse_top(&mut self) -> Result<List> {
        let mut root = List::default();
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let delim = self.next();
                if self.next_non_space().kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.backup2(delim);
            }
            let (node, end) = self.text_or_action()?;
            if let Some(end) = end {
                return Err(self.error(format!(
                    "unexpected {}",
                    match end {
                        End::End => "{{end}}",
                        End::Else => "{{else}}",
                    }
                )));
            }
            if let Some(n) = node {
                root.nodes.push(n);
            }
        }
        Ok(root)
    }

    /// Runs `f` as the parse of a separate template (a `define` or `block` body): fresh
    /// variables and range depth.
    fn in_new_tree<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let action_line = std::mem::replace(&mut self.action_line, 0);
        let r = f(self);
        self.vars = vars;
        self.range_depth = range_depth;
        self.action_line = action_line;
        r
    }

    fn parse_definition(&mut self) -> Result<()> {
        const CONTEXT: &str = "define clause";
        self.in_new_tree(|p| {
            let name = p.next_non_space();
            if name.kind != Kind::String && name.kind != Kind::RawString {
                return Err(p.unexpected(&name, CONTEXT));
            }
            let name = unquote(&name.val).ok_or_else(|| p.error("invalid syntax"))?;
            p.expect(Kind::RightDelim, CONTEXT)?;
            let (list, end) = p.item_list()?;
            if !matches!(end, End::End) {
                return Err(p.error(format!("unexpected {{{{else}}}} in {CONTEXT}")));
            }
            p.add(name, list)
        })
    }

    /// Nodes up to the `{{end}}` or `{{else}}` that closes them.
    fn item_list(&mut self) -> Result<(List, End)> {
        self.enter()?;
        let mut list = List::default();
        while self.peek_non_space().kind != Kind::Eof {
            let (node, end) = self.text_or_action()?;
            if let Some(end) = end {
                self.nesting -= 1;
                return Ok((list, end));
            }
            if let Some(n) = node {
                list.nodes.push(n);
            }
        }
        Err(self.error("unexpected EOF"))
    }

    /// A text or an action; `{{end}}` and `{{else}}` come back as the end marker.
    fn text_or_action(&mut self) -> Result<(Option<Node>, Option<End>)> {
        let token = self.next_non_space();
        match token.kind {
            Kind::Text => Ok((
                Some(Node::Text {
                    pos: token.pos,
                    text: token.val,
                }),
                None,
            )),
            Kind::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> Result<(Option<Node>, Option<End>)> {
        let token = self.next_non_space();
        let node = match token.kind {
            Kind::Block => self.block_control()?,
            Kind::Break | Kind::Continue => {
                let word = if token.kind == Kind::Break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                let t = self.next_non_space();
                if t.kind != Kind::RightDelim {
                    return Err(self.unexpected(&t, word));
                }
                if self.range_depth == 0 {
                    return Err(self.error(format!("{word} outside {{{{range}}}}")));
                }
                if token.kind == Kind::Break {
                    Node::Break
                } else {
                    Node::Continue
                }
            }
            Kind::Else => {
                let peek = self.peek_non_space();
                if peek.kind != Kind::If && peek.kind != Kind::With {
                    self.expect(Kind::RightDelim, "else")?;
                }
                return Ok((None, Some(End::Else)));
            }
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok((None, Some(End::End)));
            }
            Kind::If => Node::If(self.parse_control("if")?),
            Kind::Range => Node::Range(self.parse_control("range")?),
            Kind::With => Node::With(self.parse_control("with")?),
            Kind::Template => self.template_control()?,
            _ => {
                self.backup();
                let pos = self.peek().pos;
                let pipe = self.pipeline("command", Kind::RightDelim)?;
                Node::Action { pos, pipe }
            }
        };
        Ok((Some(node), None))
    }

    fn parse_control(&mut self, context: &str) -> Result<Branch> {
        let vars = self.vars.len();
        let r = self.parse_control_inner(context);
        self.vars.truncate(vars);
        r
    }

    fn parse_control_inner(&mut self, context: &str) -> Result<Branch> {
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let End::Else = end {
            if context == "if" && self.peek().kind == Kind::If {
                self.next();
                // An else-if chain nests like the ifs it stands for.
                self.enter()?;
                let inner = Node::If(self.parse_control("if")?);
                self.nesting -= 1;
                else_list = Some(List { nodes: vec![inner] });
            } else if context == "with" && self.peek().kind == Kind::With {
                self.next();
                // An else-if chain nests like the ifs it stands for.
                self.enter()?;
                let inner = Node::With(self.parse_control("with")?);
                self.nesting -= 1;
                else_list = Some(List { nodes: vec![inner] });
            } else {
                let (list, end) = self.item_list()?;
                if let End::Else = end {
                    return Err(self.error("expected end; found {{else}}"));
                }
                else_list = Some(list);
            }
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, token: &Token, context: &str) -> Result<String> {
        match token.kind {
            Kind::String | Kind::RawString => unquote(&token.val).ok_or_else(|| self.error("invalid syntax")),
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn template_control(&mut self) -> Result<Node> {
        const CONTEXT: &str = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, Kind::RightDelim)?);
        }
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe,
        })
    }

    fn block_control(&mut self) -> Result<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, Kind::RightDelim)?;
        let block_name = name.clone();
        self.in_new_tree(|p| {
            let (list, end) = p.item_list()?;
            if !matches!(end, End::End) {
                return Err(p.error(format!("unexpected {{{{else}}}} in {CONTEXT}")));
            }
            p.add(block_name, list)
        })?;
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> Result<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations or assignments: `$x :=`, `$x =`, `$i, $e :=`.
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            self.next();
            let after = self.peek();
            let next = self.peek_non_space();
            if next.kind == Kind::Assign || next.kind == Kind::Declare {
                pipe.is_assign = next.kind == Kind::Assign;
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.vars.push(v.val);
            } else if next.kind == Kind::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.vars.push(v.val);
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().kind {
                        Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                        _ => return Err(self.error("range can only initialize variables")),
                    }
                }
                return Err(self.error(format!("too many declarations in {context}")));
            } else if after.kind == Kind::Space {
                self.backup3(v, after);
            } else {
                self.backup2(v);
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.kind {
                k if k == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                Kind::Bool
                | Kind::CharConstant
                | Kind::Complex
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> Result<()> {
        if pipe.cmds.is_empty() {
            return Err(self.error(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            match c.args.first() {
                Some(
                    Arg::Field { .. }
                    | Arg::Chain { .. }
                    | Arg::Identifier { .. }
                    | Arg::Pipe(_)
                    | Arg::Variable { .. },
                ) => {}
                _ => return Err(self.error(format!("non executable command in pipeline stage {}", i + 1))),
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let token = self.next();
            match token.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.error("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Result<Option<Arg>> {
        let Some(node) = self.term()? else { return Ok(None) };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            let f = self.next();
            fields.extend(f.val[1..].split('.').map(str::to_string));
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field { pos, idents }
            }
            Arg::Variable { mut idents, .. } => {
                idents.extend(fields);
                Arg::Variable { pos, idents }
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.error(format!(
                    "unexpected . after term {}",
                    quote(&node.to_string(), false)
                )));
            }
            node => Arg::Chain {
                pos,
                node: Box::new(node),
                fields,
            },
        }))
    }

    fn term(&mut self) -> Result<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        let arg = match token.kind {
            Kind::Identifier => {
                if !self.funcs.contains(&token.val) {
                    return Err(self.error(format!("function {} not defined", quote(&token.val, false))));
                }
                Arg::Identifier { pos, name: token.val }
            }
            Kind::Dot => Arg::Dot { pos },
            Kind::Nil => Arg::Nil { pos },
            Kind::Variable => {
                if !self.vars.contains(&token.val) {
                    return Err(self.error(format!("undefined variable {}", quote(&token.val, false))));
                }
                Arg::Variable {
                    pos,
                    idents: vec![token.val],
                }
            }
            Kind::Field => Arg::Field {
                pos,
                idents: token.val[1..].split('.').map(str::to_string).collect(),
            },
            Kind::Bool => Arg::Bool {
                pos,
                val: token.val == "true",
            },
            Kind::CharConstant | Kind::Complex | Kind::Number => {
                let num = parse_number(&token.val, token.kind).map_err(|e| self.error(e))?;
                Arg::Number { pos, num }
            }
            Kind::LeftParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", Kind::RightParen)?;
                self.nesting -= 1;
                Arg::Pipe(Box::new(p))
            }
            Kind::String | Kind::RawString => {
                let text = unquote(&token.val).ok_or_else(|| self.error("invalid syntax"))?;
                Arg::String {
                    pos,
                    quoted: token.val,
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(arg))
    }
}

/// 2^63, the bound of Go's int64 as a float.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// Go's `newNumber`: every type the literal can have, or why it is not a number.
fn parse_number(text: &str, kind: Kind) -> std::result::Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        int: None,
        uint: None,
        float: None,
    };
    if kind == Kind::CharConstant {
        let Some((c, tail)) = unquote_char(&text[1..], '\'') else {
            return Err("invalid syntax".to_string());
        };
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let r = match c {
            Unquoted::Char(c) => u32::from(c),
            Unquoted::Byte(b) => u32::from(b),
        };
        n.int = Some(i64::from(r));
        n.uint = Some(u64::from(r));
        n.float = Some(f64::from(r));
        return Ok(n);
    }
    if kind == Kind::Complex {
        return Err(format!(
            "complex numbers are not supported: {}",
            quote(text, false)
        ));
    }
    if let Some(imag) = text.strip_suffix('i')
        && let Ok(f) = parse_float(imag)
    {
        // Go simplifies a zero imaginary constant to a real one.
        if f != 0.0 {
            return Err(format!(
                "complex numbers are not supported: {}",
                quote(text, false)
            ));
        }
        n.int = Some(0);
        n.uint = Some(0);
        n.float = Some(0.0);
        return Ok(n);
    }
    n.uint = parse_uint0(text);
    n.int = parse_int0(text);
    if let Some(i) = n.int {
        if i == 0 {
            n.uint = Some(0);
        }
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if let Ok(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", quote(text, false)));
        }
        n.float = Some(f);
        if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) {
            n.int = Some(f as i64);
        }
        if f.fract() == 0.0 && (0.0..2.0 * TWO_63).contains(&f) {
            n.uint = Some(f as u64);
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!("illegal number syntax: {}", quote(text, false)));
    }
    Ok(n)
}
