//! `cargo xtask run --native`: the services as local processes, without Docker.
//!
//! Runs the real xtask binary, which builds and starts users and gateway on 127.0.0.1, then
//! drives the gateway over HTTP and stops everything with SIGTERM, as Ctrl-C would.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Internal services listen on their fixed default ports in native mode.
const USERS: u16 = chefcito::config::ports::USERS;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// Kills xtask and the services it started if the test fails half-way: xtask leads its own
/// process group, which its children join, so one signal to the group reaches them all.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn native_mode_serves_the_api_and_stops_everything_on_sigterm() {
    assert!(
        !listening(USERS),
        "port {USERS} is taken: native mode needs it for users (stop whatever listens there)"
    );
    let project = format!("native-test-{}", std::process::id());
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "run",
            "--native",
            "--project",
            &project,
            "--port",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let gateway = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    // The first start compiles the debug binaries; later ones take a second.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if http
            .get(format!("{gateway}/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        assert!(
            running.0.try_wait().unwrap().is_none(),
            "xtask run --native exited early"
        );
        assert!(Instant::now() < deadline, "the gateway never became ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let session: serde_json::Value = http
        .post(format!("{gateway}/auth/signup"))
        .json(&serde_json::json!({"email": format!("{project}@example.com"), "password": "long enough"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["idToken"]
        .as_str()
        .expect("signup answers an idToken")
        .to_string();
    let registered = http
        .post(format!("{gateway}/users"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"user_type": "client", "name": "Nat", "number": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 200);
    let profile: serde_json::Value = http
        .get(format!("{gateway}/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["data"]["name"], "Nat");
    assert_eq!(profile["points"]["level"], "Novato");

    terminate(&running.0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "xtask did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "xtask run --native ended with {status}");
    assert!(!listening(port), "the gateway still listens after the stop");
    assert!(!listening(USERS), "users still listens after the stop");
    let _ = std::fs::remove_dir_all(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/chefcito-native")
            .join(&project),
    );
}
