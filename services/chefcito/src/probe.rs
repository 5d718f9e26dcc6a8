//! The health probe of the `healthcheck` subcommand (and of `cargo xtask`'s native mode):
//! plain `std`, so that it needs none of the runtime.

use std::net::SocketAddr;
use std::time::Duration;

/// A plain HTTP/1.0 probe of `/health` on the loopback, with short timeouts.
pub fn healthcheck(addr: SocketAddr) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let target = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let mut stream = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    stream.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut answer = String::new();
    stream.take(4096).read_to_string(&mut answer)?;
    let status = answer.split_whitespace().nth(1).unwrap_or("");
    if status == "200" {
        Ok(())
    } else {
        anyhow::bail!("{target}/health answered {status:?}")
    }
}
