//! The request id travels from one service to the next through the internal client, and the
//! internal token goes with it.

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use chefcito::REQUEST_ID_HEADER;
use chefcito::client::Client;
use chefcito::config::Secret;
use chefcito::service::{Exposure, Options, finish};

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

#[tokio::test]
async fn request_id_and_internal_token_reach_the_downstream_service() {
    // Downstream: internal, echoes what it received.
    let echo = Router::new().route(
        "/echo",
        get(|headers: HeaderMap| async move {
            axum::Json(serde_json::json!({
                "request_id": headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()),
            }))
        }),
    );
    let downstream = serve(finish(
        echo,
        Options {
            name: "downstream",
            db: None,
            exposure: Exposure::Internal(Secret::new("t0k")),
            ready: None,
        },
    ))
    .await;
    // Upstream: public, calls downstream while handling a request.
    let client = Client::new(Some(Secret::new("t0k")));
    let target = format!("{downstream}/echo");
    let upstream = serve(finish(
        Router::new().route(
            "/call",
            get(move || {
                let (client, target) = (client.clone(), target.clone());
                async move {
                    client
                        .get::<serde_json::Value>(&target)
                        .await
                        .map(axum::Json)
                }
            }),
        ),
        Options {
            name: "upstream",
            db: None,
            exposure: Exposure::Public {
                internal_token: None,
            },
            ready: None,
        },
    ))
    .await;

    let http = reqwest::Client::new();
    let answer = http
        .get(format!("{upstream}/call"))
        .header(REQUEST_ID_HEADER, "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()[REQUEST_ID_HEADER], "trace-42");
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(
        body["request_id"], "trace-42",
        "the downstream call carried the caller's request id"
    );

    // Without an incoming id one is made up, and it is the one passed downstream.
    let answer = http.get(format!("{upstream}/call")).send().await.unwrap();
    let made_up = answer.headers()[REQUEST_ID_HEADER]
        .to_str()
        .unwrap()
        .to_string();
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["request_id"], made_up.as_str());

    // The same downstream refuses a caller without the internal token.
    let refused = http.get(format!("{downstream}/echo")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(
        refused
            .headers()
            .contains_key(chefcito::service::INTERNAL_TOKEN_REFUSED_HEADER)
    );
}
