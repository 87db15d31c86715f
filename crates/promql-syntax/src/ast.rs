//! The PromQL syntax tree. Every node that can be named in an error or annotation carries its byte
//! range in the query text. Durations are resolved to milliseconds by the parser.

use std::fmt;

/// Byte range `[start, end)` of a node in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub start: usize,
    pub end: usize,
}

impl Pos {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
}

/// The type an expression evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Scalar,
    /// Instant vector.
    Vector,
    /// Range vector.
    Matrix,
    String,
}

impl ValueType {
    /// The name Prometheus uses in messages and in the API's `resultType`.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "vector",
            ValueType::Matrix => "matrix",
            ValueType::String => "string",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(NumberLiteral),
    String(StringLiteral),
    VectorSelector(VectorSelector),
    MatrixSelector(MatrixSelector),
    Subquery(Subquery),
    Paren(Paren),
    Unary(Unary),
    Binary(Binary),
    Aggregate(Aggregate),
    Call(Call),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NumberLiteral {
    pub value: f64,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StringLiteral {
    /// Unquoted and unescaped.
    pub value: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher as written. Regexes are checked for validity by the parser (fully anchored, as
/// Prometheus matches them) but compiled by the engine's storage layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelMatcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

/// `@` modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// `@ <float seconds>`, stored in milliseconds.
    Timestamp(i64),
    /// `@ start()`
    Start,
    /// `@ end()`
    End,
}

/// `metric{a="b"} offset 5m @ 100`. The metric name, when written, is also present in `matchers` as
/// `__name__="…"`, as in Prometheus; `name` keeps it for printing.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSelector {
    pub name: Option<String>,
    pub matchers: Vec<LabelMatcher>,
    /// Milliseconds; positive looks back in time, negative forward.
    pub offset: i64,
    pub at: Option<At>,
    pub pos: Pos,
}

/// `selector[5m]`. Offset and `@` written after the range belong to `selector`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSelector {
    pub selector: VectorSelector,
    /// Milliseconds, > 0.
    pub range: i64,
    pub pos: Pos,
}

/// `expr[range:step] offset … @ …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Subquery {
    pub expr: Box<Expr>,
    /// Milliseconds, > 0.
    pub range: i64,
    /// Milliseconds; `None` when omitted (`[5m:]`), meaning the evaluation interval.
    pub step: Option<i64>,
    pub offset: i64,
    pub at: Option<At>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Paren {
    pub expr: Box<Expr>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unary {
    pub op: UnaryOp,
    pub expr: Box<Expr>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    /// `atan2`
    Atan2,
    Eql,
    Neq,
    Gtr,
    Lss,
    Gte,
    Lte,
    And,
    Or,
    Unless,
}

impl BinaryOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::Eql => "==",
            BinaryOp::Neq => "!=",
            BinaryOp::Gtr => ">",
            BinaryOp::Lss => "<",
            BinaryOp::Gte => ">=",
            BinaryOp::Lte => "<=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Unless => "unless",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eql | BinaryOp::Neq | BinaryOp::Gtr | BinaryOp::Lss | BinaryOp::Gte | BinaryOp::Lte
        )
    }

    /// `and`, `or`, `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    OneToOne,
    /// `group_left`
    ManyToOne,
    /// `group_right`
    OneToMany,
    /// Set operators.
    ManyToMany,
}

/// How the two sides of a vector/vector binary expression are matched.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorMatching {
    pub card: Cardinality,
    /// The labels of `on(…)` or `ignoring(…)`.
    pub labels: Vec<String>,
    /// `on` when true, `ignoring` when false (also false when neither was written).
    pub on: bool,
    /// The labels of `group_left(…)` / `group_right(…)`.
    pub include: Vec<String>,
}

impl VectorMatching {
    /// The matching of `op` between two instant vectors when none is written: one-to-one, or
    /// many-to-many for set operators.
    pub fn implied(op: BinaryOp) -> Self {
        Self {
            card: if op.is_set() {
                Cardinality::ManyToMany
            } else {
                Cardinality::OneToOne
            },
            labels: Vec::new(),
            on: false,
            include: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    pub op: BinaryOp,
    pub lhs: Box<Expr>,
    pub rhs: Box<Expr>,
    /// The `bool` modifier of a comparison.
    pub return_bool: bool,
    /// Set when both sides are instant vectors (Prometheus fills in the default one-to-one, or
    /// many-to-many for set operators, even when nothing was written).
    pub matching: Option<VectorMatching>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    CountValues,
    Quantile,
    Limitk,
    LimitRatio,
}

impl AggregateOp {
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateOp::Sum => "sum",
            AggregateOp::Avg => "avg",
            AggregateOp::Count => "count",
            AggregateOp::Min => "min",
            AggregateOp::Max => "max",
            AggregateOp::Group => "group",
            AggregateOp::Stddev => "stddev",
            AggregateOp::Stdvar => "stdvar",
            AggregateOp::Topk => "topk",
            AggregateOp::Bottomk => "bottomk",
            AggregateOp::CountValues => "count_values",
            AggregateOp::Quantile => "quantile",
            AggregateOp::Limitk => "limitk",
            AggregateOp::LimitRatio => "limit_ratio",
        }
    }

    /// Operators that take a parameter before the vector: `topk(3, …)`.
    pub fn has_param(self) -> bool {
        matches!(
            self,
            AggregateOp::Topk
                | AggregateOp::Bottomk
                | AggregateOp::CountValues
                | AggregateOp::Quantile
                | AggregateOp::Limitk
                | AggregateOp::LimitRatio
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub op: AggregateOp,
    pub expr: Box<Expr>,
    pub param: Option<Box<Expr>>,
    /// The labels of `by (…)` or `without (…)`.
    pub grouping: Vec<String>,
    pub without: bool,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub func: &'static crate::functions::Function,
    pub args: Vec<Expr>,
    pub pos: Pos,
}

impl Expr {
    pub fn pos(&self) -> Pos {
        match self {
            Expr::Number(x) => x.pos,
            Expr::String(x) => x.pos,
            Expr::VectorSelector(x) => x.pos,
            Expr::MatrixSelector(x) => x.pos,
            Expr::Subquery(x) => x.pos,
            Expr::Paren(x) => x.pos,
            Expr::Unary(x) => x.pos,
            Expr::Binary(x) => x.pos,
            Expr::Aggregate(x) => x.pos,
            Expr::Call(x) => x.pos,
        }
    }

    /// The type the expression evaluates to (meaningful once the parser has checked it).
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::String(_) => ValueType::String,
            Expr::VectorSelector(_) | Expr::Aggregate(_) => ValueType::Vector,
            Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Paren(p) => p.expr.value_type(),
            Expr::Unary(u) => u.expr.value_type(),
            Expr::Binary(b) => {
                if b.lhs.value_type() == ValueType::Scalar && b.rhs.value_type() == ValueType::Scalar {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Expr::Call(c) => c.func.return_type,
        }
    }
}
