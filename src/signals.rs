//! The process signals the exporter answers: SIGTERM and SIGINT stop it
//! (the first gracefully, a second at once), SIGHUP reloads what can be
//! reloaded without a restart. Installing the handlers replaces the
//! default actions, so SIGHUP no longer ends the process.

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// SIGTERM or SIGINT (the signal's name).
    Stop(&'static str),
    /// SIGHUP: re-read the web configuration and the API key file.
    Reload,
}

/// The installed handlers. A handler that cannot be installed is logged
/// once and never fires.
pub struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers for SIGTERM, SIGINT and SIGHUP. Needs a Tokio
    /// runtime.
    pub fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let install = |kind: SignalKind, name: &str| match signal(kind) {
                Ok(handler) => Some(handler),
                Err(error) => {
                    tracing::error!(%error, signal = name, "cannot listen for a signal");
                    None
                }
            };
            Signals {
                terminate: install(SignalKind::terminate(), "SIGTERM"),
                interrupt: install(SignalKind::interrupt(), "SIGINT"),
                hangup: install(SignalKind::hangup(), "SIGHUP"),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next signal received.
    pub async fn next(&mut self) -> Request {
        #[cfg(unix)]
        {
            let terminate = recv_or_never(self.terminate.as_mut());
            let interrupt = recv_or_never(self.interrupt.as_mut());
            let hangup = recv_or_never(self.hangup.as_mut());
            tokio::select! {
                () = interrupt => Request::Stop("SIGINT"),
                () = terminate => Request::Stop("SIGTERM"),
                () = hangup => Request::Reload,
            }
        }
        #[cfg(not(unix))]
        match tokio::signal::ctrl_c().await {
            Ok(()) => Request::Stop("SIGINT"),
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGINT");
                std::future::pending().await
            }
        }
    }
}

#[cfg(unix)]
async fn recv_or_never(handler: Option<&mut tokio::signal::unix::Signal>) {
    if let Some(handler) = handler {
        // `None` only once the runtime's signal driver is gone.
        if handler.recv().await.is_some() {
            return;
        }
    }
    std::future::pending().await
}
