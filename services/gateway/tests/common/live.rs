//! Real services on loopback listeners for the system tests: a server that can be stopped for
//! good (and its port taken again), and the apps' way of calling the gateway.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

/// A service on a loopback listener that can be stopped for good (and its port reused).
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    pub async fn start(router: axum::Router) -> Server {
        Self::on(
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            router,
        )
    }

    pub fn on(listener: tokio::net::TcpListener, router: axum::Router) -> Server {
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap()
        });
        Server {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits until the listener and every connection are closed (the
    /// router, and with it the service's background tasks, is dropped).
    pub async fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the server stops within 10 s")
                .unwrap();
        }
    }
}

/// Binds `addr` again once the previous server has let it go.
pub async fn rebind(addr: SocketAddr) -> tokio::net::TcpListener {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(e) if std::time::Instant::now() > deadline => {
                panic!("cannot bind {addr} again: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A signed-in, registered user.
pub struct Account {
    pub uid: String,
    pub token: String,
}

/// The gateway as the client apps call it.
pub struct Apps {
    pub gateway: String,
    pub http: reqwest::Client,
}

impl Apps {
    pub fn new(gateway: String) -> Apps {
        Apps {
            gateway,
            http: reqwest::Client::new(),
        }
    }

    /// A call as the client apps make it: JSON headers on every request, the bearer token of
    /// the signed-in user (none at all when anonymous, as the booking page does).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        who: Option<&Account>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.gateway))
            .header("accept", "application/json")
            .header("content-type", "application/json");
        if let Some(account) = who {
            request = request.header("authorization", format!("Bearer {}", account.token));
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, who: Option<&Account>) -> (u16, Value) {
        self.call(Method::GET, path, who, None).await
    }

    pub async fn post(&self, path: &str, who: &Account, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(who), Some(body)).await
    }

    pub async fn put(&self, path: &str, who: &Account, body: Value) -> (u16, Value) {
        self.call(Method::PUT, path, Some(who), Some(body)).await
    }
}
