//! System tests: the real users service and the real gateway on loopback listeners, talking
//! HTTP to each other with the internal token, driven the way the client apps drive them.

mod common;

use std::time::Duration;

use chefcito::permissions::Permissions;
use clap::Parser;
use common::{INTERNAL_TOKEN, eventually, serve, shipped_config};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Cluster {
    users: String,
    gateway: String,
    http: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Cluster {
        let data = tempfile::tempdir().unwrap();
        let users_config = users::Config::parse_from([
            "users",
            "--data-dir",
            data.path().to_str().unwrap(),
            "--internal-token",
            INTERNAL_TOKEN,
            // Nothing listens on port 9: phone events wait in the outbox.
            "--communications-url",
            "http://127.0.0.1:9",
        ]);
        let (users, _) = serve(users::build(&users_config).await.unwrap()).await;
        let gateway_config = gateway::Config::parse_from([
            "gateway",
            "--users-url",
            &users,
            "--internal-token",
            INTERNAL_TOKEN,
            "--permissions-refresh-secs",
            "1",
        ]);
        let (gateway, _) = serve(gateway::build(&gateway_config).await.unwrap()).await;
        Cluster {
            users,
            gateway,
            http: reqwest::Client::new(),
            _data: data,
        }
    }

    /// A call to the gateway as a client app makes it.
    async fn call(
        &self,
        method: Method,
        path: &str,
        id_token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.gateway))
            .header("accept", "application/json");
        if let Some(token) = id_token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, id_token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, id_token, None).await
    }

    /// `POST /users` (E1) as the holder of `id_token`.
    async fn register(&self, id_token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/users", Some(id_token), Some(body))
            .await
    }

    /// `POST /auth/{action}`, as the sign-in screens send it (no ID token).
    async fn auth(&self, action: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, &format!("/auth/{action}"), None, Some(body))
            .await
    }

    /// Replaces the permission table the way `cargo xtask load-db` does.
    async fn load_permissions(&self, yaml: &str) {
        let permissions = Permissions::from_yaml(yaml).unwrap();
        let response = self
            .http
            .put(format!("{}/permissions", self.users))
            .header(chefcito::INTERNAL_TOKEN_HEADER, INTERNAL_TOKEN)
            .json(&permissions)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
    }

    /// Polls `path` as `token` until it answers `status`, for at most 10 s.
    async fn until_status(&self, path: &str, token: Option<&str>, status: u16) -> bool {
        eventually(Duration::from_secs(10), || async {
            self.get(path, token).await.0 == status
        })
        .await
    }
}

async fn sign_up(cluster: &Cluster, email: &str) -> Value {
    let (status, session) = cluster
        .auth(
            "signup",
            json!({"email": email, "password": "correct horse"}),
        )
        .await;
    assert_eq!(status, 200, "{session}");
    session
}

#[tokio::test]
async fn sign_up_register_read_update_refresh() {
    let c = Cluster::start().await;
    let session = sign_up(&c, "pepe@example.com").await;
    let uid = session["localId"].as_str().unwrap().to_string();
    assert_eq!(session["email"], "pepe@example.com");
    assert_eq!(session["expiresIn"], "3600");

    let (status, signed_in) = c
        .auth(
            "signin",
            json!({"email": "pepe@example.com", "password": "correct horse"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(signed_in["localId"], uid.as_str());
    let token = signed_in["idToken"].as_str().unwrap().to_string();

    // Not registered yet: signed in, an empty profile with the account's e-mail.
    let (status, body) = c.get("/users", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["data"]["email"].as_str(),
            body["data"]["name"].as_str()
        ),
        (Some("pepe@example.com"), Some(""))
    );

    // E1, as the restaurant portal sends it.
    let registration =
        json!({"user_type": "restaurant", "name": "Casa Pepe", "number": "1144445555"});
    let (status, stored) = c.register(&token, registration).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(
        stored,
        json!({"localid": uid, "email": "pepe@example.com", "name": "Casa Pepe", "phone_number": "1144445555"})
    );

    // E2.
    let (status, profile) = c.get("/users", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(profile["data"], stored);
    assert_eq!(
        profile["points"],
        json!({"user": uid, "total": 0, "level": "Novato"})
    );

    // A Google sign-in registers again, as the other kind and with empty fields (H1, H13).
    let (status, again) = c
        .register(
            &token,
            json!({"user_type": "client", "name": "", "number": ""}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again, stored);

    // E3: empty or null keeps.
    let (status, updated) = c
        .call(
            Method::PUT,
            "/users",
            Some(&token),
            Some(json!({"name": "Casa Pepa", "phone": ""})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["name"], "Casa Pepa");
    assert_eq!(updated["data"]["phone_number"], "1144445555");
    assert_eq!(updated["points"]["level"], "Novato");

    // Refresh: a new ID token that works, and the old refresh token is spent.
    let refresh_token = signed_in["refreshToken"].as_str().unwrap();
    let (status, renewed) = c
        .auth("refresh", json!({"refreshToken": refresh_token}))
        .await;
    assert_eq!(status, 200, "{renewed}");
    assert_ne!(renewed["refreshToken"], refresh_token);
    let (status, profile) = c.get("/users", renewed["idToken"].as_str()).await;
    assert_eq!(status, 200);
    assert_eq!(profile["data"]["name"], "Casa Pepa");
    let (status, body) = c
        .auth("refresh", json!({"refreshToken": refresh_token}))
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["endpoint"], "/auth/refresh");
}

#[tokio::test]
async fn users_refusals_reach_the_client_with_their_status() {
    let c = Cluster::start().await;
    sign_up(&c, "ana@example.com").await;
    let (status, body) = c
        .auth(
            "signup",
            json!({"email": "ana@example.com", "password": "another one"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["endpoint"], "/auth/signup");
    let (status, _) = c
        .auth(
            "signin",
            json!({"email": "ana@example.com", "password": "wrong password"}),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = c.get("/users", Some("forged.token.here")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_new_permission_table_is_enforced_by_the_running_gateway() {
    let c = Cluster::start().await;
    let session = sign_up(&c, "resto@example.com").await;
    let token = session["idToken"].as_str().unwrap().to_string();
    let (status, _) = c
        .register(
            &token,
            json!({"user_type": "restaurant", "name": "Resto", "number": ""}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(c.get("/users", Some(&token)).await.0, 200);
    assert_eq!(c.get("/docs", None).await.0, 200);

    // `/users` for clients only, `/docs` for signed-in users only.
    let shipped = shipped_config();
    let restricted = shipped
        .replace(
            "  - name: /users\n    allowed: [anonymous]\n",
            "  - name: /users\n    allowed: [client]\n",
        )
        .replace(
            "  - name: /docs\n    allowed: [anonymous]\n",
            "  - name: /docs\n    allowed: [client, restaurant]\n",
        );
    assert_ne!(restricted, shipped);
    c.load_permissions(&restricted).await;
    assert!(
        c.until_status("/users", Some(&token), 403).await,
        "the restaurant was not refused /users"
    );
    let (status, body) = c.get("/docs", None).await;
    assert_eq!(
        (status.as_u16(), body),
        (
            401,
            json!({"description": "Authentication required", "endpoint": "/docs"})
        )
    );
    assert_eq!(c.get("/docs", Some(&token)).await.0, 200);

    c.load_permissions(&shipped).await;
    assert!(
        c.until_status("/users", Some(&token), 200).await,
        "the restored table was not enforced"
    );
    assert_eq!(c.get("/docs", None).await.0, 200);
}
