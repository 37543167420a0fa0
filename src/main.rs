//! The `quantmc` command: a thin layer over the library. `main` only runs the
//! command, prints `Error: ...` and sets the exit code.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err:#}");
            ExitCode::from(err.exit_code())
        }
    }
}
