//! The signing key's life cycle and the internal token.

use axum::body::Body;
use axum::http::Request;
use chefcito::INTERNAL_TOKEN_HEADER;
use clap::Parser;

use crate::common::*;

async fn kid(app: &axum::Router) -> String {
    let jwks = get(app, "/.well-known/jwks.json").await;
    jwks.body["keys"][0]["kid"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_key_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let first = users::build(&config(dir.path())).await.unwrap();
    let before = kid(&first).await;
    let session = sign_up(&first, "ana@example.com", "correct horse").await;
    drop(first);

    let second = users::build(&config(dir.path())).await.unwrap();
    assert_eq!(kid(&second).await, before);
    // Sessions survive too: the refresh token issued before the restart still works.
    let refreshed = refresh(&second, session.body["refreshToken"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let pem = std::fs::read_to_string(dir.path().join(users::tokens::KEY_FILE)).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
}

#[tokio::test]
async fn another_data_dir_gets_another_key() {
    let a = service().await;
    let b = service().await;
    assert_ne!(kid(&a.app).await, kid(&b.app).await);
}

#[tokio::test]
async fn a_configured_signing_key_is_used_and_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let keys = users::tokens::Keys::generate().unwrap();
    let pem = keys.to_pem().unwrap();
    let config = users::Config::parse_from([
        "users",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--internal-token",
        TOKEN,
        "--signing-key",
        pem.expose(),
    ]);
    let app = users::build(&config).await.unwrap();
    assert_eq!(kid(&app).await, keys.kid());
    assert!(!dir.path().join(users::tokens::KEY_FILE).exists());
    assert!(
        !format!("{config:?}").contains("PRIVATE KEY"),
        "secrets never reach Debug"
    );
}

#[tokio::test]
async fn refuses_calls_without_the_internal_token() {
    let s = service().await;
    chefcito::testing::assert_internal(
        s.app.clone(),
        &[
            (axum::http::Method::POST, "/auth/signin"),
            (axum::http::Method::POST, "/users/batch"),
            (axum::http::Method::GET, "/user/u1"),
            (axum::http::Method::PUT, "/permissions"),
        ],
    )
    .await;
}

#[tokio::test]
async fn without_a_token_only_loopback_peers_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let config = users::Config::parse_from(["users", "--data-dir", dir.path().to_str().unwrap()]);
    let app = users::build(&config).await.unwrap();
    let from =
        |ip: [u8; 4]| {
            let mut request = Request::get("/user/u1/type").body(Body::empty()).unwrap();
            request.extensions_mut().insert(axum::extract::ConnectInfo(
                std::net::SocketAddr::from((ip, 40000)),
            ));
            request
        };
    assert_eq!(send(&app, from([127, 0, 0, 1])).await.status, 200);
    let remote = send(&app, from([10, 1, 2, 3])).await;
    assert_eq!(remote.status, 401);
    assert!(remote.description().contains("loopback"));
    // And `run` binds such a service to loopback whatever BIND says.
    let bind_all = users::Config::parse_from(["users", "--bind", "0.0.0.0:8001"]);
    let addr =
        chefcito::service::listen_addr(&bind_all.serve, chefcito::service::Role::Internal, 8001);
    assert!(addr.ip().is_loopback(), "{addr}");
    let with_token =
        users::Config::parse_from(["users", "--bind", "0.0.0.0:8001", "--internal-token", "x"]);
    let addr =
        chefcito::service::listen_addr(&with_token.serve, chefcito::service::Role::Internal, 8001);
    assert!(addr.ip().is_unspecified(), "{addr}");
}

#[tokio::test]
async fn the_internal_token_is_required_except_for_health_and_ready() {
    let s = service().await;
    for (method, path) in [
        ("POST", "/auth/signup"),
        ("POST", "/auth/signin"),
        ("POST", "/auth/refresh"),
        ("GET", "/.well-known/jwks.json"),
        ("POST", "/users"),
        ("GET", "/user/u1"),
        ("GET", "/user/u1/type"),
        ("GET", "/permissions"),
        ("PUT", "/permissions"),
    ] {
        for token in [None, Some("wrong")] {
            let mut builder = Request::builder().method(method).uri(path);
            if let Some(token) = token {
                builder = builder.header(INTERNAL_TOKEN_HEADER, token);
            }
            let answer = send(&s.app, builder.body(Body::from("{}")).unwrap()).await;
            assert_eq!(answer.status, 401, "{method} {path} with {token:?}");
        }
    }
    for path in ["/health", "/ready"] {
        let answer = send(&s.app, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(answer.status, 200, "{path}");
    }
}
