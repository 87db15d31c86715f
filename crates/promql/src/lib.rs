//! The PromQL engine: evaluates parsed queries (`promql-syntax`) over the `storage` traits only, never
//! a particular store, so the same engine serves the head, blocks, object storage and remote readers.

mod aggregate;
mod binary;
mod engine;
mod error;
mod functions;
pub mod kernels;
pub mod script;
mod value;

pub use engine::{Engine, Options};
pub use error::{Error, Result};
pub use value::{Element, Points, QueryResult, Value};
