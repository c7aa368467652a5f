//! `onslaught target`: the built-in HTTP server, until Ctrl-C.

use anyhow::Context;
use onslaught_target::{AccountList, Accounts, Stall, Target, TargetConfig};

use crate::exit;
use crate::flags::TargetArgs;
use crate::nodes::shutdown_on_signal;

/// Serves until Ctrl-C or SIGTERM.
pub async fn run(args: TargetArgs) -> anyhow::Result<u8> {
    let shutdown = shutdown_on_signal();
    let accounts = match &args.accounts {
        None => Accounts::AnyUser {
            password: args.password,
        },
        Some(path) => match AccountList::load(path) {
            Ok(list) => Accounts::List(list),
            Err(e) => {
                errln!("error: invalid --accounts: {e}");
                return Ok(exit::BAD_CONFIG);
            }
        },
    };
    let logins = match &accounts {
        Accounts::AnyUser { .. } => "any user with --password".to_owned(),
        Accounts::List(list) => format!("{} accounts", list.len()),
    };
    let config = TargetConfig {
        latency: args.latency,
        stall: args
            .stall_every
            .zip(args.stall_for)
            .map(|(every, duration)| Stall { every, duration }),
        error_ratio: args.error_ratio,
        error_status: args.error_status,
        close_ratio: args.close_ratio,
        latency_per_in_flight: args.latency_per_in_flight.unwrap_or_default(),
        accounts,
        items: args.items,
    };
    let listener = onslaught_target::listen(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    outln!(
        "target listening on http://{addr} (GET /ping, GET /metrics; POST /login for {logins}, \
         GET /items/1..{}, GET /cart, POST /echo)",
        args.items
    );
    Target::new(config)
        .serve(listener, async move { shutdown.cancelled().await })
        .await?;
    Ok(exit::OK)
}
