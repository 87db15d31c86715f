//! Pharos's time-series engine: a head of recent data in compressed chunks fed through a checksummed
//! write-ahead log with group commit, checkpoints that bound restart time, immutable on-disk blocks,
//! compaction and retention. Every on-disk format is described in `docs/format/`.
//!
//! Readers use it through the `storage::Queryable` trait; nothing above this crate knows its files.

mod bits;
pub mod block;
mod checkpoint;
pub mod chunk;
mod db;
mod error;
pub mod head;
mod head_chunks;
mod index;
mod metrics;
mod records;
pub mod wal;

pub use db::{Db, Input, Options, Rejected, WriteOutcome};
pub use error::{Error, Rejection, Result};
pub use head::{Cardinality, HeadOptions, SeriesRef};
pub use metrics::TsdbMetrics;
pub use wal::FsyncPolicy;
