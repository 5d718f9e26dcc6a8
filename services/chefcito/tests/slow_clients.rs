//! Slow and idle clients cannot hold a service's connections for ever: raw sockets against a
//! real listener served by `chefcito::service::serve_with`, with short limits.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use chefcito::service::{Exposure, Limits, Options, finish, serve_with};

const LIMITS: Limits = Limits {
    header_read: Duration::from_millis(600),
    body_read: Duration::from_millis(600),
    max_connections: 2,
    grace: Duration::from_secs(1),
};

async fn server() -> SocketAddr {
    let router = Router::new().route("/ok", get(|| async { "fine" })).route(
        "/echo",
        post(
            |chefcito::extract::Json(v): chefcito::extract::Json<serde_json::Value>| async move {
                axum::Json(v)
            },
        ),
    );
    let app = finish(
        router,
        Options {
            name: "t",
            db: None,
            exposure: Exposure::Public {
                internal_token: None,
            },
            ready: None,
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_with(listener, app, LIMITS, std::future::pending()));
    addr
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

/// Reads until the server closes the connection (or 5 s pass); returns what came and when.
fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                panic!("still open after {:?}", started.elapsed())
            }
            Err(_) => break, // reset: closed too
        }
    }
    (
        String::from_utf8_lossy(&all).into_owned(),
        started.elapsed(),
    )
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_in_the_middle_of_its_headers_is_cut_off() {
    let addr = server().await;
    let (_, took) = blocking(move || {
        let mut s = connect(addr);
        s.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
        read_until_closed(&mut s)
    })
    .await;
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let addr = server().await;
    let (answer, took) = blocking(move || {
        let mut s = connect(addr);
        s.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        read_until_closed(&mut s)
    })
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took < Duration::from_secs(3),
        "idle connection kept {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_short_is_cut_off() {
    let addr = server().await;
    let (answer, took) = blocking(move || {
        let mut s = connect(addr);
        s.write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":",
        )
        .unwrap();
        read_until_closed(&mut s)
    })
    .await;
    assert!(took < Duration::from_secs(3), "closed after {took:?}");
    // Whatever was answered is an error in the envelope, never a success.
    assert!(!answer.starts_with("HTTP/1.1 2"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_limit_is_refused_before_the_body_is_sent() {
    let addr = server().await;
    let answer = blocking(move || {
        let mut s = connect(addr);
        let head = format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            chefcito::service::BODY_LIMIT + 1
        );
        s.write_all(head.as_bytes()).unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"endpoint\":\"/echo\""), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_connections_are_capped_and_freed_by_the_timeouts() {
    let addr = server().await;
    let answer = blocking(move || {
        // Two silent connections take both slots...
        let holders: Vec<TcpStream> = (0..2).map(|_| connect(addr)).collect();
        std::thread::sleep(Duration::from_millis(100));
        // ...so a third waits until the header timeout frees one.
        let started = Instant::now();
        let mut s = connect(addr);
        s.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (answer, _) = read_until_closed(&mut s);
        drop(holders);
        (answer, started.elapsed())
    })
    .await;
    assert!(answer.0.starts_with("HTTP/1.1 200"), "{}", answer.0);
    assert!(
        answer.1 >= Duration::from_millis(400),
        "answered after {:?}: the cap did not hold",
        answer.1
    );
}
