//! The `quantmc` command: a thin layer over the library. `main` only runs the
//! command, prints `Error: ...` and sets the exit code.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`quantmc ... | head`) is the reader's choice, not an
        // error: stop quietly, as ripgrep does.
        Err(err) if err.is_broken_pipe() => ExitCode::SUCCESS,
        Err(err) => {
            cli::to_stderr(&format!("Error: {err:#}"));
            ExitCode::from(err.exit_code())
        }
    }
}
