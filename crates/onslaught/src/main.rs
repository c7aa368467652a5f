//! The `onslaught` command: parses flags, runs a subcommand, and maps the outcome to an exit
//! code. Everything else lives in the library crates.

/// `println!` that never panics: a closed stdout (its reader gone, say `| head`) is ignored.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that never panics: a closed stderr (`2>&1 | tee` after Ctrl-C) must not stop a
/// shutdown.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod cmd_compare;
mod cmd_driver;
mod cmd_orchestrator;
mod cmd_report;
mod cmd_run;
mod cmd_serve;
mod cmd_target;
mod distribution;
mod find_max;
mod flags;
mod junit;
mod local;
mod memory;
mod nodes;
mod parse;
mod planfile;
mod progress;
mod summary;
mod targets;

use std::process::ExitCode;

use clap::Parser;

use flags::{Cli, Command};

/// Exit codes, distinct per outcome so CI can tell them apart.
pub mod exit {
    /// The test ran and passed.
    pub const OK: u8 = 0;
    /// The test ran but failed: more failed requests (no accepted status) than
    /// `--max-error-ratio` allows (by default, any), or it ended failed/degraded.
    pub const TEST_FAILED: u8 = 1;
    /// The configuration is invalid (clap also uses 2 for bad flags).
    pub const BAD_CONFIG: u8 = 2;
    /// The test was aborted (Ctrl-C or a stop request).
    pub const ABORTED: u8 = 3;
    /// The test could not run (no drivers, a component failed).
    pub const COULD_NOT_RUN: u8 = 4;
    /// An orchestrator of a `--cluster` was deposed: another was elected while it was frozen or
    /// cut off. It stopped commanding and writing; restart it to stand by again.
    pub const DEPOSED: u8 = 5;
    /// The test ran and a threshold failed (or stopped it, `--abort-on-fail`), as k6.
    pub const THRESHOLDS_FAILED: u8 = 99;
}

fn main() -> ExitCode {
    memory::tune_allocator();
    let cli = Cli::parse();
    init_logging(&cli);
    // Every connection holds a file descriptor: allow as many as the hard limit does.
    onslaught_engine::limits::raise_open_files();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::COULD_NOT_RUN);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => cmd_run::run(*args).await,
            Command::Target(args) => cmd_target::run(args).await,
            Command::Serve(args) => cmd_serve::run(args).await,
            Command::Orchestrator(args) => cmd_orchestrator::run(*args).await,
            Command::Driver(args) => cmd_driver::run(args).await,
            Command::Report(args) => cmd_report::run(&args),
            Command::Compare(args) => cmd_compare::run(&args).await,
        }
    });
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            errln!("error: {e:#}");
            ExitCode::from(exit::COULD_NOT_RUN)
        }
    }
}

fn init_logging(cli: &Cli) {
    let default = match cli.command {
        Command::Run(_) | Command::Report(_) | Command::Compare(_) => "warn",
        Command::Target(_) | Command::Serve(_) | Command::Orchestrator(_) | Command::Driver(_) => {
            "info"
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ONSLAUGHT_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only on a terminal; a log line that cannot be written (stderr closed) is dropped
    // silently: the default reports it with `eprintln!`, which panics the logging task.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .log_internal_errors(false)
        .init();
}
