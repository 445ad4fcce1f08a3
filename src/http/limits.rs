use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// What one client may cost the server. Every limit answers a specific attack:
/// see `shared/http-front.md`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Request line plus headers. The per-connection head buffer grows on
    /// demand up to this and no further; a longer head gets 431 and the
    /// connection closes.
    pub max_head_bytes: usize,
    /// The head buffer's first size, allocated when the first byte of a
    /// request arrives (not before) and freed while a keep-alive connection
    /// waits for its next request; it doubles as needed up to `max_head_bytes`.
    pub head_buffer_first_bytes: usize,
    /// More headers than this gets 431 and the connection closes.
    pub max_headers: usize,
    /// A larger `Content-Length` gets 413 before any of the body is read.
    pub max_body_bytes: usize,
    /// Total time for a whole request head, however slowly it trickles in.
    pub head_timeout: Duration,
    /// Total time for a whole body once the head is in; it also bounds the
    /// time a client may take to accept one response.
    pub body_timeout: Duration,
    /// How long a keep-alive connection may sit between requests.
    pub idle_timeout: Duration,
    /// Open connections at most. When all are taken, a newcomer makes room:
    /// the connection that has waited longest without a complete head (or
    /// the oldest idle keep-alive one) is closed. Only when every connection
    /// is busy with a request is the newcomer closed instead. Each connection
    /// holds `FDS_PER_CONNECTION` file descriptors.
    pub max_connections: usize,
    /// Open connections from one address at most; more are closed at once.
    pub max_connections_per_ip: usize,
    /// Addresses exempt from `max_connections_per_ip`: reverse proxies,
    /// through which every client comes from one address. The proxy must
    /// then cap connections per client itself.
    pub trusted_proxies: Vec<IpAddr>,
    /// With more than this share of `max_connections` open (in percent), the
    /// head and idle timeouts shrink in proportion, down to
    /// `crowded_min_timeout` when full.
    pub crowded_above_percent: usize,
    /// The shortest a head or idle timeout becomes when the front is full.
    pub crowded_min_timeout: Duration,
    /// A file body is read from disk and written in chunks this big; each
    /// chunk must be accepted by the client within `body_timeout`.
    pub file_chunk_bytes: usize,
}

/// The socket, and the duplicate the server keeps to close it from outside.
pub const FDS_PER_CONNECTION: usize = 2;

/// The default `max_connections`: measured with `tests/bench/exhaustion.sh`
/// on a 2-core x86-64 box, a held connection costs the server at most
/// 9.4 KiB of RSS (a stalled half head), so 2048 of them are 19 MB beside an
/// idle RSS of 7 MB: under the 64 MB target with room to spare (see the
/// README's figures).
pub const DEFAULT_MAX_CONNECTIONS: usize = 2048;
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 32;

/// Loopback, where a reverse proxy on the same box connects from.
pub fn default_trusted_proxies() -> Vec<IpAddr> {
    vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)]
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 16 * 1024,
            head_buffer_first_bytes: 1024,
            max_headers: 64,
            max_body_bytes: 1024 * 1024,
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            trusted_proxies: default_trusted_proxies(),
            crowded_above_percent: 50,
            crowded_min_timeout: Duration::from_secs(1),
            file_chunk_bytes: 64 * 1024,
        }
    }
}

impl Limits {
    /// `timeout` (a head or idle timeout) as it applies with `open`
    /// connections: whole up to `crowded_above_percent` of `max_connections`,
    /// then shrinking linearly to `crowded_min_timeout` (or `timeout`, if
    /// shorter) when full.
    pub fn crowded_timeout(&self, timeout: Duration, open: usize) -> Duration {
        let max = self.max_connections.max(1);
        let crowded_from = max * self.crowded_above_percent.min(100) / 100;
        if open <= crowded_from || crowded_from >= max {
            return timeout;
        }
        let floor = self.crowded_min_timeout.min(timeout);
        let over = (open.min(max) - crowded_from) as f64 / (max - crowded_from) as f64;
        floor + (timeout - floor).mul_f64(1.0 - over)
    }

    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted_proxies.iter().any(|trusted| trusted.to_canonical() == ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_shrink_only_past_the_crowded_share() {
        let limits = Limits { max_connections: 100, ..Limits::default() };
        let ten = Duration::from_secs(10);
        assert_eq!(limits.crowded_timeout(ten, 0), ten);
        assert_eq!(limits.crowded_timeout(ten, 50), ten);
        assert_eq!(limits.crowded_timeout(ten, 75), Duration::from_millis(5500));
        assert_eq!(limits.crowded_timeout(ten, 100), Duration::from_secs(1));
        assert_eq!(limits.crowded_timeout(ten, 500), Duration::from_secs(1));
        let short = Duration::from_millis(300);
        assert_eq!(limits.crowded_timeout(short, 100), short, "never longer than asked");
    }

    #[test]
    fn trusted_proxies_match_ipv4_mapped_addresses() {
        let limits = Limits::default();
        assert!(limits.is_trusted_proxy("127.0.0.1".parse().unwrap()));
        assert!(limits.is_trusted_proxy("::ffff:127.0.0.1".parse().unwrap()));
        assert!(limits.is_trusted_proxy("::1".parse().unwrap()));
        assert!(!limits.is_trusted_proxy("127.0.0.2".parse().unwrap()));
    }
}
