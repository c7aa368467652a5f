//! The driver's event loop: configs and triggers in; register, heartbeats and test runs out.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use protocol::{
    DecodeError, Heartbeat, HeartbeatState, Message, NodeState, Register, Role, TestConfig, Topic,
    Trigger, TriggerAction, decode,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use transport::Transport;

use crate::convert::load_spec;
use crate::publish::publish;
use crate::test_run::{Context, Outcome, run_test};
use crate::{DriverConfig, DriverError, DriverStats};

/// Re-send `register` this often, so an orchestrator started after the driver learns its address.
const REGISTER_EVERY: Duration = Duration::from_secs(10);

/// The test this driver holds, from configuration to its end.
struct Current {
    /// The configuration as received.
    config: TestConfig,
    /// What the driver is doing with it.
    state: NodeState,
    /// Why it was rejected, if it was.
    reason: Option<String>,
    /// Stops the run.
    cancel: CancellationToken,
    /// Requests sent so far, for heartbeats.
    sent: Arc<AtomicU64>,
    /// The run, once triggered.
    task: Option<JoinHandle<Outcome>>,
}

/// Runs a driver until `shutdown` fires. A running test is stopped and its final metrics are
/// published before returning.
pub async fn run(
    config: DriverConfig,
    transport: Arc<dyn Transport>,
    stats: Arc<DriverStats>,
    shutdown: CancellationToken,
) -> Result<(), DriverError> {
    // Subscribe before registering, so no config sent in reply to the registration is missed.
    let mut configs = transport.subscribe(Topic::TestConfig)?;
    let mut triggers = transport.subscribe(Topic::Trigger)?;
    let node_id = config.node_id.clone();
    let register = Register::new(&node_id, &config.address);
    publish(&transport, &node_id, &register, &stats, &shutdown).await;

    let ctx = Context {
        transport: Arc::clone(&transport),
        node_id: node_id.clone(),
        stats: Arc::clone(&stats),
        shutdown: shutdown.clone(),
        metrics_every: config.metrics_every.min(Duration::from_secs(1)),
    };
    let mut current: Option<Current> = None;
    let mut heartbeat = tokio::time::interval(config.heartbeat_every);
    let mut reregister = tokio::time::interval(REGISTER_EVERY);
    reregister.tick().await;
    tracing::info!(node_id, "driver ready");

    loop {
        let finished = async {
            match current.as_mut().and_then(|c| c.task.as_mut()) {
                Some(task) => task.await.ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = heartbeat.tick() => send_heartbeat(&ctx, current.as_ref()).await,
            _ = reregister.tick() => { publish(&transport, &node_id, &register, &stats, &shutdown).await; }
            payload = configs.recv() => {
                let Some(payload) = payload else { break };
                if let Some(test) = next::<TestConfig>(&payload, &stats) {
                    on_config(&ctx, &mut current, test).await;
                }
            }
            payload = triggers.recv() => {
                let Some(payload) = payload else { break };
                if let Some(trigger) = next::<Trigger>(&payload, &stats) {
                    on_trigger(&ctx, &mut current, trigger).await;
                }
            }
            outcome = finished => {
                if let Some(c) = current.as_mut() {
                    c.task = None;
                    c.state = NodeState::Finished;
                    if let Some(outcome) = outcome {
                        c.reason = outcome.error;
                        tracing::info!(node_id, test_id = outcome.test_id, sent = outcome.requests_sent, "test finished");
                    }
                }
                send_heartbeat(&ctx, current.as_ref()).await;
            }
        }
    }
    if let Some(mut c) = current.take() {
        c.cancel.cancel();
        if let Some(task) = c.task.take() {
            let _ = task.await;
        }
    }
    Ok(())
}

/// Decodes a message, logging and counting it when malformed.
fn next<M: Message>(payload: &[u8], stats: &DriverStats) -> Option<M> {
    match decode::<M>(payload) {
        Ok(m) => Some(m),
        Err(e) => {
            log_rejected(M::TOPIC, &e);
            stats.malformed_messages.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

fn log_rejected(topic: Topic, error: &DecodeError) {
    tracing::warn!(%topic, kind = error.kind(), "skipping message: {error}");
}

async fn on_config(ctx: &Context, current: &mut Option<Current>, config: TestConfig) {
    if !config.drivers.iter().any(|d| d == &ctx.node_id) {
        return;
    }
    if let Some(c) = current.as_ref()
        && c.task.is_some()
    {
        tracing::warn!(
            test_id = config.test_id,
            running = c.config.test_id,
            "busy: ignoring a new config"
        );
        return;
    }
    let (state, reason) = match load_spec(&config) {
        Ok(_) => (NodeState::Configured, None),
        Err(reason) => (NodeState::Rejected, Some(reason)),
    };
    tracing::info!(test_id = config.test_id, ?state, "test configured");
    *current = Some(Current {
        config,
        state,
        reason,
        cancel: CancellationToken::new(),
        sent: Arc::new(AtomicU64::new(0)),
        task: None,
    });
    // The heartbeat with state `configured` is the acknowledgement the orchestrator waits for.
    send_heartbeat(ctx, current.as_ref()).await;
}

async fn on_trigger(ctx: &Context, current: &mut Option<Current>, trigger: Trigger) {
    let Some(c) = current
        .as_mut()
        .filter(|c| c.config.test_id == trigger.test_id)
    else {
        ctx.stats.ignored_triggers.fetch_add(1, Ordering::Relaxed);
        return;
    };
    match trigger.trigger {
        TriggerAction::Stop => {
            tracing::info!(test_id = trigger.test_id, "stop requested");
            c.cancel.cancel();
        }
        TriggerAction::Start => {
            // Only a configured, never-started test starts; a replayed trigger is ignored.
            if c.state != NodeState::Configured || trigger.issued_at_ms < c.config.issued_at_ms {
                ctx.stats.ignored_triggers.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let Ok(spec) = load_spec(&c.config) else {
                return;
            };
            c.state = NodeState::Running;
            c.task = Some(tokio::spawn(run_test(
                ctx.clone(),
                c.config.test_id.clone(),
                spec,
                trigger.start_at_ms,
                c.cancel.clone(),
                Arc::clone(&c.sent),
            )));
            send_heartbeat(ctx, current.as_ref()).await;
        }
    }
}

async fn send_heartbeat(ctx: &Context, current: Option<&Current>) {
    let state = match current {
        None => HeartbeatState::idle(),
        Some(c) => HeartbeatState {
            state: c.state,
            test_id: Some(c.config.test_id.clone()),
            reason: c.reason.clone(),
        },
    };
    let mut heartbeat = Heartbeat::new(&ctx.node_id, Role::Driver, state);
    if let Some(c) = current {
        heartbeat
            .info
            .insert("requests_sent".to_owned(), c.sent.load(Ordering::Relaxed));
    }
    publish(
        &ctx.transport,
        &ctx.node_id,
        &heartbeat,
        &ctx.stats,
        &ctx.shutdown,
    )
    .await;
}
