//! A long run, watched: a progress bar on stderr (only on a terminal, only
//! past the first second, never with `--json` or `--quiet`) and Ctrl-C,
//! which cancels the run through the library's [`Control`] (exit 130); a
//! run that has not wound down [`GRACE`] later (the library checks between
//! chunks, and a chunk of very long paths takes minutes), or a second
//! Ctrl-C, exits at once.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use quantmc::Control;

/// The control of this process's run: the Ctrl-C handler reaches it.
static CONTROL: Control = Control::new();

/// Runs shown before the bar appears.
const QUIET_START: Duration = Duration::from_secs(1);
/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(100);
/// How long a cancelled run may take to wind down before the process exits
/// without it. Every file the CLI writes is written whole or not at all, so
/// leaving mid-run loses nothing that was not asked to stop.
const GRACE: Duration = Duration::from_millis(300);

/// Installs the Ctrl-C handler (once per process): the first press cancels
/// the run and exits with 130 if it is still running [`GRACE`] later, the
/// second exits with 130 without waiting for it.
fn install_handler() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    // A handler that cannot be installed (no signal support) leaves Ctrl-C
    // to the default action, which also ends the process.
    let _ = ctrlc::set_handler(|| {
        if CONTROL.is_cancelled() {
            std::process::exit(130);
        }
        CONTROL.cancel();
        std::thread::spawn(|| {
            std::thread::sleep(GRACE);
            super::to_stderr("Error: interrupted");
            std::process::exit(130);
        });
    });
}

/// Runs `work` with the process's control, showing progress unless
/// `quiet`.
pub fn watched<T>(quiet: bool, work: impl FnOnce(&Control) -> T + Send) -> T
where
    T: Send,
{
    install_handler();
    let show = !quiet && std::io::stderr().is_terminal();
    let finished = AtomicBool::new(false);
    std::thread::scope(|scope| {
        if show {
            scope.spawn(|| draw(&finished));
        }
        let result = work(&CONTROL);
        finished.store(true, Ordering::SeqCst);
        result
    })
}

/// Draws the bar from the control's counters until `finished`.
fn draw(finished: &AtomicBool) {
    let start = Instant::now();
    let mut bar: Option<ProgressBar> = None;
    while !finished.load(Ordering::SeqCst) {
        std::thread::sleep(TICK);
        if start.elapsed() < QUIET_START || CONTROL.is_cancelled() {
            continue;
        }
        let progress = CONTROL.progress();
        let bar = bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(progress.total.max(1));
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {percent:>3}%  {human_pos}/{human_len} samples  eta {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar
        });
        bar.set_length(progress.total.max(1));
        bar.set_position(progress.done.min(progress.total));
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
