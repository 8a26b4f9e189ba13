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
use std::str::FromStr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

/// A `--web.listen-address` value, parsed once at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddress {
    /// `:PORT`: every interface of both families (IPv4 only where the host
    /// has no IPv6).
    AllInterfaces { port: u16 },
    /// `IP:PORT` (an IPv6 address in brackets): exactly that address.
    Ip(SocketAddr),
    /// `NAME:PORT`: every address the host name resolves to, resolved when
    /// the listener is bound.
    Host { host: String, port: u16 },
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddress::AllInterfaces { port } => write!(f, ":{port}"),
            ListenAddress::Ip(addr) => write!(f, "{addr}"),
            ListenAddress::Host { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

impl FromStr for ListenAddress {
    /// One line naming the value and the accepted shapes.
    type Err = String;

    /// `:PORT`, `IP:PORT`, `[IPV6]:PORT` or `NAME:PORT` (a host name of
    /// letters, digits, `-` and `.`), surrounding whitespace ignored.
    fn from_str(value: &str) -> Result<ListenAddress, String> {
        let bad = || {
            format!(
                "'{value}' is not host:port (e.g. :10841, 0.0.0.0:10841, [::]:10841, localhost:10841)"
            )
        };
        let value = value.trim();
        // Like the Prometheus exporters, ":10841" means every interface.
        if let Some(port) = value.strip_prefix(':') {
            return port
                .parse()
                .map(|port| ListenAddress::AllInterfaces { port })
                .map_err(|_| bad());
        }
        if let Ok(addr) = value.parse::<SocketAddr>() {
            return Ok(ListenAddress::Ip(addr));
        }
        let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse().map_err(|_| bad())?;
        // A host name: letters, digits, '-' and '.' (an IPv6 address needs brackets).
        let name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
        if host.is_empty() || !host.chars().all(name) {
            return Err(bad());
        }
        Ok(ListenAddress::Host {
            host: host.to_owned(),
            port,
        })
    }
}

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
/// port when the port was 0). Needs a Tokio runtime. Errors: a name that
/// does not resolve, or a bind failure (port in use, no permission).
pub async fn bind(addresses: &[ListenAddress]) -> Result<Vec<TcpListener>, BindError> {
    let mut listeners = Vec::new();
    for address in addresses {
        let error = |reason: String| BindError {
            address: address.to_string(),
            reason,
        };
        let bound = match address {
            ListenAddress::AllInterfaces { port } => {
                vec![bind_any(*port).map_err(|e| error(e.to_string()))?]
            }
            ListenAddress::Ip(addr) => vec![bind_one(*addr).map_err(|e| error(e.to_string()))?],
            ListenAddress::Host { host, port } => {
                let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), *port))
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
            }
        };
        for listener in bound {
            let listener = TcpListener::from_std(listener).map_err(|e| error(e.to_string()))?;
            if let Ok(local) = listener.local_addr() {
                tracing::info!(address = %local, requested = %address, "listening");
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
    fn addresses_parse_once_into_their_kind() {
        let parse = |s: &str| s.parse::<ListenAddress>();
        assert_eq!(
            parse(":10841"),
            Ok(ListenAddress::AllInterfaces { port: 10841 })
        );
        assert_eq!(
            parse("0.0.0.0:80"),
            Ok(ListenAddress::Ip("0.0.0.0:80".parse().unwrap()))
        );
        assert_eq!(
            parse("[::1]:0"),
            Ok(ListenAddress::Ip("[::1]:0".parse().unwrap()))
        );
        assert_eq!(
            parse(" localhost:10841 "),
            Ok(ListenAddress::Host {
                host: "localhost".into(),
                port: 10841
            })
        );
        for shown in [
            ":10841",
            "0.0.0.0:80",
            "[::]:80",
            "[::1]:0",
            "localhost:10841",
        ] {
            assert_eq!(parse(shown).unwrap().to_string(), shown);
        }
        for bad in [
            "10841",
            ":",
            ":65536",
            "::1:80",
            "[::1:80",
            "host:port",
            "",
            "nonsense",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(
                error.contains(&format!("'{bad}'")) && !error.contains('\n'),
                "{bad:?}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn port_zero_reports_the_real_port_and_a_port_in_use_is_an_error() {
        let listeners = bind(&["127.0.0.1:0".parse().unwrap()]).await.unwrap();
        let port = listeners[0].local_addr().unwrap().port();
        assert_ne!(port, 0);
        let error = bind(&[format!("127.0.0.1:{port}").parse().unwrap()])
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(&port.to_string()), "{error}");
    }
}
