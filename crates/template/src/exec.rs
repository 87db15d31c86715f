//! Execution of parsed templates over [`Value`]s with Go's semantics: variable scoping, field and
//! method evaluation, pipelines with the piped value as last argument, `range`/`break`/`continue`,
//! template calls, and errors positioned and worded as Go's (`template: NAME:LINE:COL: executing
//! "NAME" at <…>: …`). Bounded: template depth, output size, string sizes and steps are capped.

use crate::Template;
use crate::error::{Error, Result};
use crate::fmt::{quote, value_string};
use crate::funcs::{FuncDef, Special, html_content_escape};
use crate::parse::{Arg, Branch, Command, List, Node, Number, Pipe, Tree};
use crate::time::duration_method;
use crate::value::Value;

/// Bounds on one execution, so untrusted templates cannot hang or exhaust memory or stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How deeply template calls, control structures and parenthesized pipelines may nest.
    /// The default, 300, runs within a 2 MiB thread stack (tokio's) even in debug builds.
    pub max_depth: usize,
    /// The largest output, and the largest string a function may produce, in bytes.
    pub max_output: usize,
    /// The most nodes, loop iterations and function calls one execution may take.
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 300,
            max_output: 16 << 20,
            max_steps: 20_000_000,
        }
    }
}

/// What Go's `missingkey` option says a map lookup of an absent key yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default`: the invalid value, printing `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero`: the zero value of the map's element type (`""` for label maps).
    Zero,
    /// `missingkey=error`: execution stops with an error.
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node execution is at, for error messages.
#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Node(&'a Node),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
    Arg(&'a Arg),
}

struct State<'a> {
    tmpl: &'a Template,
    tree: &'a Tree,
    at: At<'a>,
    vars: Vec<(&'a str, Value)>,
    out: String,
    html: bool,
    depth: usize,
    steps: u64,
}

/// Runs `tree` of `tmpl` with `data` as dot and `$`.
pub(crate) fn execute(tmpl: &Template, tree: &Tree, data: &Value, html: bool) -> Result<String> {
    let mut s = State {
        tmpl,
        tree,
        at: At::None,
        vars: vec![("$", data.clone())],
        out: String::new(),
        html,
        depth: 0,
        steps: 0,
    };
    s.walk_list(data, &tree.root)?;
    Ok(s.out)
}

impl<'a> State<'a> {
    fn errorf(&self, msg: impl std::fmt::Display) -> Error {
        let name = &self.tree.name;
        let (pos, context) = match self.at {
            At::None => return Error::Exec(format!("template: {name}: {msg}")),
            At::Node(n) => (node_pos(n), n.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Arg(a) => (a.pos(), a.to_string()),
        };
        Error::Exec(format!(
            "template: {}: executing {} at <{context}>: {msg}",
            self.tree.location(pos),
            quote(name, false)
        ))
    }

    fn step(&mut self) -> Result<()> {
        self.steps += 1;
        if self.steps > self.tmpl.limits.max_steps {
            return Err(self.errorf(format!("execution exceeded {} steps", self.tmpl.limits.max_steps)));
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> Result<()> {
        if self.out.len() + s.len() > self.tmpl.limits.max_output {
            return Err(self.errorf(format!("output exceeds {} bytes", self.tmpl.limits.max_output)));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn nest(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > self.tmpl.limits.max_depth {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({})",
                self.tmpl.limits.max_depth
            )));
        }
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &'a List) -> Result<Flow> {
        self.nest()?;
        for node in &list.nodes {
            let flow = self.walk(dot, node)?;
            if flow != Flow::Normal {
                self.depth -= 1;
                return Ok(flow);
            }
        }
        self.depth -= 1;
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &'a Node) -> Result<Flow> {
        self.at = At::Node(node);
        self.step()?;
        match node {
            Node::Text { text, .. } => self.write(text)?,
            Node::Action { pipe, .. } => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(node, &v)?;
                }
            }
            Node::If(b) => return self.walk_if_with(false, dot, b),
            Node::With(b) => return self.walk_if_with(true, dot, b),
            Node::Range(b) => return self.walk_range(dot, b),
            Node::Template { name, pipe, .. } => self.walk_template(dot, node, name, pipe.as_ref())?,
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, node: &'a Node, v: &Value) -> Result<()> {
        self.at = At::Node(node);
        let s = if self.html {
            match v {
                Value::Missing | Value::Nil => String::new(),
                Value::Html(s) => s.clone(),
                v => html_content_escape(&value_string(v)),
            }
        } else {
            match v {
                Value::Missing => "<no value>".to_string(),
                v => value_string(v),
            }
        };
        self.write(&s)
    }

    fn walk_if_with(&mut self, with: bool, dot: &Value, b: &'a Branch) -> Result<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if val.is_true() {
            self.walk_list(if with { &val } else { dot }, &b.list)?
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Value, b: &'a Branch) -> Result<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let body_mark = self.vars.len();
        let mut ran = false;
        if let Some(list) = val.as_list() {
            for (i, e) in list.iter().enumerate() {
                ran = true;
                if self.one_iteration(b, body_mark, Value::Int(i as i64), e.clone())? == Flow::Break {
                    break;
                }
            }
        } else if let Some(map) = val.map_view() {
            for (k, e) in map.entries() {
                ran = true;
                if self.one_iteration(b, body_mark, Value::Str(k), e)? == Flow::Break {
                    break;
                }
            }
        } else {
            match &val {
                Value::Missing => {}
                Value::Int(n) => {
                    if b.pipe.decl.len() > 1 {
                        return Err(
                            self.errorf(format!("can't use {n} to iterate over more than one variable"))
                        );
                    }
                    for i in 0..*n {
                        ran = true;
                        if self.one_iteration(b, body_mark, Value::Int(i), Value::Int(i))? == Flow::Break {
                            break;
                        }
                    }
                }
                v => return Err(self.errorf(format!("range can't iterate over {}", value_string(v)))),
            }
        }
        if !ran && let Some(e) = &b.else_list {
            self.walk_list(dot, e)?;
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn one_iteration(&mut self, b: &'a Branch, mark: usize, index: Value, elem: Value) -> Result<Flow> {
        self.step()?;
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                let v = if decl.len() > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                self.set_var(&decl[0], v)?;
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let flow = self.walk_list(&elem, &b.list);
        self.vars.truncate(mark);
        match flow? {
            Flow::Continue => Ok(Flow::Normal),
            f => Ok(f),
        }
    }

    fn walk_template(
        &mut self,
        dot: &Value,
        node: &'a Node,
        name: &str,
        pipe: Option<&'a Pipe>,
    ) -> Result<()> {
        self.at = At::Node(node);
        let Some(tree) = self.tmpl.trees.get(name) else {
            return Err(self.errorf(format!("template {} not defined", quote(name, false))));
        };
        let tree: &'a Tree = tree;
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Missing,
        };
        let vars = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
        let caller = std::mem::replace(&mut self.tree, tree);
        let r = self.walk_list(&new_dot, &tree.root);
        self.tree = caller;
        self.vars = vars;
        r.map(|_| ())
    }

    fn var_value(&self, name: &str) -> Result<Value> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn set_var(&mut self, name: &str, value: Value) -> Result<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                *v = value;
                Ok(())
            }
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn set_top_var(&mut self, n: usize, value: Value) {
        let len = self.vars.len();
        if let Some(slot) = len.checked_sub(n).and_then(|i| self.vars.get_mut(i)) {
            slot.1 = value;
        }
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> Result<Value> {
        self.at = At::Pipe(pipe);
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Missing);
        for v in &pipe.decl {
            if pipe.is_assign {
                self.set_var(v, value.clone())?;
            } else {
                self.vars.push((v.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    /// A parenthesized pipeline: it nests like a control structure.
    fn eval_nested_pipeline(&mut self, dot: &Value, pipe: &'a Pipe) -> Result<Value> {
        self.nest()?;
        let v = self.eval_pipeline(dot, pipe);
        self.depth -= 1;
        v
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Value>) -> Result<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Value, cmd: &'a Command, final_: Option<Value>) -> Result<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at = At::Arg(first);
                return self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, final_);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, final_),
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), &cmd.args, final_);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                return self.eval_nested_pipeline(dot, p);
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, &cmd.args, final_),
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(&cmd.args, &final_)?;
        match first {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.errorf("nil is not a command")),
            Arg::Number { num, .. } => self.ideal_constant(num),
            Arg::String { text, .. } => Ok(Value::Str(text.clone())),
            _ => Err(self.errorf(format!(
                "can't evaluate command {}",
                quote(&first.to_string(), false)
            ))),
        }
    }

    fn ideal_constant(&self, num: &Number) -> Result<Value> {
        let text = &num.text;
        let hex_int = text.len() > 2
            && text.starts_with('0')
            && (text.as_bytes()[1] == b'x' || text.as_bytes()[1] == b'X')
            && !text.contains(['p', 'P']);
        let rune = text.starts_with('\'');
        if let Some(f) = num.float
            && !hex_int
            && !rune
            && text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(f));
        }
        if let Some(i) = num.int {
            return Ok(Value::Int(i));
        }
        if num.uint.is_some() {
            return Err(self.errorf(format!("{text} overflows int")));
        }
        Ok(Value::Missing)
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> Result<Value> {
        self.at = At::Arg(chain);
        let Arg::Chain { node, fields, .. } = chain else {
            return Err(self.errorf("internal error: not a chain"));
        };
        if let Arg::Nil { .. } = node.as_ref() {
            return Err(self.errorf(format!("indirection through explicit nil in {chain}")));
        }
        let receiver = self.eval_arg(dot, node)?;
        self.eval_field_chain(dot, receiver, chain, fields, args, final_)
    }

    fn eval_variable(
        &mut self,
        dot: &Value,
        var: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> Result<Value> {
        self.at = At::Arg(var);
        let Arg::Variable { idents, .. } = var else {
            return Err(self.errorf("internal error: not a variable"));
        };
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            self.not_a_function(args, &final_)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, &idents[1..], args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        receiver: Value,
        node: &'a Arg,
        idents: &[String],
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> Result<Value> {
        let n = idents.len();
        let mut receiver = receiver;
        for id in &idents[..n - 1] {
            receiver = self.eval_field(dot, id, node, &[], None, receiver)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, final_, receiver)
    }

    /// `.Name` on `receiver`: a method call, a struct field or a map key. `args` starts with the
    /// node itself, as Go's command arguments do.
    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        final_: Option<Value>,
        receiver: Value,
    ) -> Result<Value> {
        let has_args = args.len() > 1 || final_.is_some();
        match &receiver {
            Value::Missing => {
                if self.tmpl.missing_key == MissingKey::Error {
                    return Err(self.errorf(format!("nil data; no entry for key {}", quote(name, false))));
                }
                return Ok(Value::Missing);
            }
            Value::Nil => return Err(self.errorf(format!("nil pointer evaluating interface {{}}.{name}"))),
            Value::Time(t) => {
                let argv = self.eval_method_args(dot, args, final_)?;
                if let Some(r) = t.method(name, &argv) {
                    return self.method_result(node, name, r);
                }
            }
            Value::Duration(d) => {
                let argv = self.eval_method_args(dot, args, final_)?;
                if let Some(r) = duration_method(*d, name, &argv) {
                    return self.method_result(node, name, r);
                }
            }
            Value::Object(o) => {
                let argv = self.eval_method_args(dot, args, final_)?;
                if let Some(r) = o.get(name, &argv) {
                    return self.method_result(node, name, r);
                }
            }
            _ => {}
        }
        if let Some(map) = receiver.map_view() {
            if has_args {
                return Err(self.errorf(format!("{name} is not a method but has arguments")));
            }
            return match map.get(name) {
                Some(v) => Ok(v),
                None => match self.tmpl.missing_key {
                    MissingKey::Default => Ok(Value::Missing),
                    MissingKey::Zero => Ok(map.zero()),
                    MissingKey::Error => {
                        Err(self.errorf(format!("map has no entry for key {}", quote(name, false))))
                    }
                },
            };
        }
        Err(self.errorf(format!(
            "can't evaluate field {name} in type {}",
            receiver.type_name()
        )))
    }

    fn eval_method_args(
        &mut self,
        dot: &Value,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> Result<Vec<Value>> {
        let mut argv = Vec::new();
        for a in args.iter().skip(1) {
            argv.push(self.eval_arg(dot, a)?);
        }
        argv.extend(final_);
        Ok(argv)
    }

    fn method_result(&mut self, node: &'a Arg, name: &str, r: Result<Value>) -> Result<Value> {
        self.step()?;
        match r {
            Ok(v) => self.check_size(v),
            Err(Error::Arg(msg)) => Err(self.errorf(msg)),
            Err(e) => {
                self.at = At::Arg(node);
                Err(self.errorf(format!("error calling {name}: {e}")))
            }
        }
    }

    fn check_size(&self, v: Value) -> Result<Value> {
        if let Value::Str(s) | Value::Html(s) = &v
            && s.len() > self.tmpl.limits.max_output
        {
            return Err(self.errorf(format!(
                "string result exceeds {} bytes",
                self.tmpl.limits.max_output
            )));
        }
        Ok(v)
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        ident: &'a Arg,
        name: &str,
        call_at: At<'a>,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> Result<Value> {
        self.at = At::Arg(ident);
        let Some(def) = self.tmpl.funcs.get(name) else {
            return Err(self.errorf(format!("{} is not a defined function", quote(name, false))));
        };
        let def: FuncDef = def.clone();
        self.eval_call(dot, &def, name, call_at, args, final_)
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        def: &FuncDef,
        name: &str,
        call_at: At<'a>,
        args: &'a [Arg],
        final_: Option<Value>,
    ) -> Result<Value> {
        let args = args.get(1..).unwrap_or(&[]);
        let num_in = args.len() + usize::from(final_.is_some());
        match def.arity {
            crate::funcs::Arity::Exact(n) if num_in != n => {
                return Err(self.errorf(format!("wrong number of args for {name}: want {n} got {num_in}")));
            }
            crate::funcs::Arity::AtLeast(n) if num_in < n => {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {n} got {}",
                    args.len()
                )));
            }
            _ => {}
        }
        if def.special != Special::None {
            let want = def.special == Special::Or;
            let mut v = Value::Missing;
            for a in args {
                v = self.eval_arg(dot, a)?;
                if v.is_true() == want {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        for a in args {
            argv.push(self.eval_arg(dot, a)?);
        }
        argv.extend(final_);
        self.step()?;
        match (def.f)(&argv) {
            Ok(v) => self.check_size(v),
            Err(Error::Arg(msg)) => Err(self.errorf(msg)),
            Err(e) => {
                self.at = call_at;
                Err(self.errorf(format!("error calling {name}: {e}")))
            }
        }
    }

    /// An argument of a function or method, evaluated as Go evaluates an `interface{}` argument.
    fn eval_arg(&mut self, dot: &Value, arg: &'a Arg) -> Result<Value> {
        self.at = At::Arg(arg);
        match arg {
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Ok(Value::Nil),
            Arg::Field { idents, .. } => {
                self.eval_field_chain(dot, dot.clone(), arg, idents, std::slice::from_ref(arg), None)
            }
            Arg::Variable { .. } => self.eval_variable(dot, arg, std::slice::from_ref(arg), None),
            Arg::Pipe(p) => self.eval_nested_pipeline(dot, p),
            Arg::Identifier { name, .. } => self.eval_function(dot, arg, name, At::Arg(arg), &[], None),
            Arg::Chain { .. } => self.eval_chain(dot, arg, std::slice::from_ref(arg), None),
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Number { num, .. } => self.ideal_constant(num),
            Arg::String { text, .. } => Ok(Value::Str(text.clone())),
        }
    }
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Text { pos, .. } | Node::Action { pos, .. } | Node::Template { pos, .. } => *pos,
        Node::If(b) | Node::With(b) | Node::Range(b) => b.pos,
        Node::Break | Node::Continue => 0,
    }
}
