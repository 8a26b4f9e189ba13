//! Binding `--web.listen-address` values.
//!
//! `:PORT` means every interface of both families: one IPv6 socket with
//! `IPV6_V6ONLY` off, or, on a host or container without IPv6, every IPv4
//! interface, so that the default starts everywhere. `0.0.0.0:PORT` and
//! `[::]:PORT` mean exactly that family. `host:port` binds every address
//! the name resolves to.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

/// A listen address that cannot be used. One line.
#[derive(Debug)]
pub struct BindError {
    address: String,
    reason: String,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot listen on {:?}: {}", self.address, self.reason)
    }
}

impl std::error::Error for BindError {}

const BACKLOG: i32 = 1024;

/// Binds every address in `addresses` (values of `--web.listen-address`),
/// in order, and logs each socket address actually bound (with the real
/// port when the port was 0). Needs a Tokio runtime. Errors: an address
/// that does not parse or resolve, or a bind failure (port in use, no
/// permission).
pub async fn bind(addresses: &[impl AsRef<str>]) -> Result<Vec<TcpListener>, BindError> {
    let mut listeners = Vec::new();
    for address in addresses {
        let address = address.as_ref();
        let error = |reason: String| BindError {
            address: address.to_owned(),
            reason,
        };
        let (host, port) = split(address).ok_or_else(|| {
            error("expected HOST:PORT, [IPV6]:PORT or :PORT with a port from 0 to 65535".into())
        })?;
        let bound = if host.is_empty() {
            vec![bind_any(port).map_err(|e| error(e.to_string()))?]
        } else if let Ok(ip) = host.parse() {
            vec![bind_one(SocketAddr::new(ip, port)).map_err(|e| error(e.to_string()))?]
        } else {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| error(format!("cannot resolve {host:?}: {e}")))?
                .collect();
            let mut bound = Vec::new();
            let mut last_error = None;
            for addr in dedup(resolved) {
                match bind_one(addr) {
                    Ok(listener) => bound.push(listener),
                    // A name may resolve to a family the host lacks
                    // (`localhost` to ::1 without IPv6): skip that one.
                    Err(e) if family_unavailable(&e) => last_error = Some(e),
                    Err(e) => return Err(error(format!("{addr}: {e}"))),
                }
            }
            if bound.is_empty() {
                return Err(error(last_error.map_or_else(
                    || format!("{host:?} resolves to no address"),
                    |e| e.to_string(),
                )));
            }
            bound
        };
        for listener in bound {
            let listener = TcpListener::from_std(listener).map_err(|e| error(e.to_string()))?;
            if let Ok(local) = listener.local_addr() {
                tracing::info!(address = %local, requested = address, "listening");
            }
            listeners.push(listener);
        }
    }
    Ok(listeners)
}

/// Raises the soft limit of open files to the hard limit, as Go's runtime
/// does at start: the soft limit is often 1024, which a thousand idle
/// connections exhaust. Logs the change at debug level; a failure is
/// logged and otherwise ignored (the exporter runs with what it has).
pub fn raise_open_files_limit() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            tracing::debug!(error = %io::Error::last_os_error(), "cannot read the limit of open files");
            return;
        }
        if limit.rlim_cur >= limit.rlim_max {
            return;
        }
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::debug!(
                from = limit.rlim_cur,
                to = limit.rlim_max,
                "raised the soft limit of open files to the hard limit"
            );
        } else {
            tracing::debug!(
                error = %io::Error::last_os_error(),
                soft = limit.rlim_cur,
                hard = limit.rlim_max,
                "cannot raise the soft limit of open files"
            );
        }
    }
}

/// `host:port`, `[v6]:port` or `:port` into host (without brackets) and
/// port.
fn split(address: &str) -> Option<(&str, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = match host.strip_prefix('[') {
        Some(inner) => inner.strip_suffix(']')?,
        None if host.contains(':') => return None,
        None => host,
    };
    Some((host, port))
}

fn dedup(mut addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let mut seen = Vec::with_capacity(addrs.len());
    addrs.retain(|a| {
        let new = !seen.contains(a);
        seen.push(*a);
        new
    });
    addrs
}

fn family_unavailable(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::AddrNotAvailable
        || error.raw_os_error() == Some(libc::EAFNOSUPPORT)
}

/// `:PORT`: `[::]` accepting IPv4 too, else `0.0.0.0`.
fn bind_any(port: u16) -> io::Result<std::net::TcpListener> {
    let dual = SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port);
    match bind_socket(dual, Some(false)) {
        Ok(listener) => Ok(listener),
        Err(error) if family_unavailable(&error) => {
            tracing::info!(%error, "no IPv6 on this host: listening on IPv4 only");
            bind_socket(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port), None)
        }
        Err(error) => Err(error),
    }
}

/// An explicit address: an IPv6 one is IPv6 only, so that `[::]:P` and
/// `0.0.0.0:P` can be given together.
fn bind_one(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    bind_socket(addr, addr.is_ipv6().then_some(true))
}

fn bind_socket(addr: SocketAddr, only_v6: Option<bool>) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(only_v6) = only_v6 {
        socket.set_only_v6(only_v6)?;
    }
    // As every server on Unix: a restart may rebind while old connections
    // sit in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_addresses() {
        assert_eq!(split(":10841"), Some(("", 10841)));
        assert_eq!(split("0.0.0.0:80"), Some(("0.0.0.0", 80)));
        assert_eq!(split("[::]:80"), Some(("::", 80)));
        assert_eq!(split("[::1]:0"), Some(("::1", 0)));
        assert_eq!(split("localhost:10841"), Some(("localhost", 10841)));
        for bad in ["10841", ":", ":65536", "::1:80", "[::1:80", "host:port", ""] {
            assert_eq!(split(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn bad_addresses_are_one_line_errors() {
        let error = bind(&["nonsense"]).await.unwrap_err().to_string();
        assert!(
            error.contains("\"nonsense\"") && !error.contains('\n'),
            "{error}"
        );
    }

    #[tokio::test]
    async fn port_zero_reports_the_real_port_and_a_port_in_use_is_an_error() {
        let listeners = bind(&["127.0.0.1:0"]).await.unwrap();
        let port = listeners[0].local_addr().unwrap().port();
        assert_ne!(port, 0);
        let error = bind(&[format!("127.0.0.1:{port}")])
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(&port.to_string()), "{error}");
    }
}
