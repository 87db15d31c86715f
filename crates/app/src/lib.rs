//! Assembles Pharos roles from configuration. A library, so that tests can start a role in-process.

mod agent;
mod collector;
mod config;
mod error;
mod server;

pub use agent::{AgentConfig, AgentOptions, run_agent};
pub use collector::TsdbAppender;
pub use config::{Config, parse_duration};
pub use error::{Error, Result};
pub use server::{ServerOptions, parse_fsync, run_server};
