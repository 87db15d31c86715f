//! The errors of parsing and executing templates, worded as Go's text/template words them.

/// Everything that can go wrong in this crate. `Parse` and `Exec` carry Go's complete message
/// (`template: NAME:LINE: …`, `template: NAME:LINE:COL: executing "NAME" at <…>: …`); the other
/// variants are what template functions return, and execution wraps them into an `Exec` message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A syntax error, e.g. `template: test:1: unexpected "}" in operand`.
    #[error("{0}")]
    Parse(String),
    /// An execution error, e.g. `template: test:1:3: executing "test" at <.Foo>: …`.
    #[error("{0}")]
    Exec(String),
    /// A template function failed; execution reports it as `error calling NAME: MESSAGE`.
    #[error("{0}")]
    Func(String),
    /// A function argument Go itself would have rejected (`wrong type for value; expected string;
    /// got int`, `wrong number of args for Format: want 1 got 0`): reported without the
    /// `error calling` prefix, as Go reports its own argument checks.
    #[error("{0}")]
    Arg(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error a template function returns: `error calling NAME: msg` once execution wraps it.
    pub fn func(msg: impl Into<String>) -> Error {
        Error::Func(msg.into())
    }

    /// An argument of Go type `got` where `expected` was wanted.
    pub fn arg_type(expected: impl AsRef<str>, got: impl AsRef<str>) -> Error {
        Error::Arg(format!(
            "wrong type for value; expected {}; got {}",
            expected.as_ref(),
            got.as_ref()
        ))
    }
}
