//! `pharos test rules FILE…`: runs rule unit tests written in promtool's format, with promtool's
//! report and exit status.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Run rule unit-test files (promtool's `test rules` format).
    Rules {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn run(args: Args) -> ExitCode {
    match args.what {
        What::Rules { files } => {
            let ok = rules::unittest::run_files(&files, &mut std::io::stdout(), &mut std::io::stderr());
            if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
    }
}
