//! Bad input: each case gets a clear 4xx envelope, never a 5xx, and changes nothing.

use axum::http::Method;

use crate::common::*;

#[tokio::test]
async fn refuses_calls_without_the_internal_token() {
    let s = quiet_service().await;
    chefcito::testing::assert_internal(
        s.app.clone(),
        &[
            (Method::POST, "/opinions"),
            (Method::GET, "/opinions"),
            (Method::GET, "/opinions?venue=resto"),
            (Method::POST, "/opinions/batch"),
        ],
    )
    .await;
}

#[tokio::test]
async fn garbage_bodies_are_422_envelopes() {
    let s = quiet_service().await;
    for (path, text) in [
        ("/opinions", ""),
        ("/opinions", "{"),
        ("/opinions", "[]"),
        ("/opinions", "null"),
        ("/opinions", "\u{0}\u{1}"),
        ("/opinions/batch", ""),
        ("/opinions/batch", "{\"reservations\": [\"a\""),
    ] {
        let answer = call_text(&s.app, Method::POST, path, text.to_string()).await;
        assert_eq!(answer.status, 422, "{path} {text:?}: {answer:?}");
        assert_eq!(answer.body["endpoint"], path);
        assert!(!answer.description().is_empty());
    }
    assert_eq!(stored(&s), 0);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_4xx() {
    let s = quiet_service().await;
    assert_eq!(
        call(&s.app, Method::GET, "/opinions/x", None).await.status,
        404
    );
    assert_eq!(
        call(&s.app, Method::DELETE, "/opinions", None).await.status,
        405
    );
    assert_eq!(
        call(&s.app, Method::GET, "/opinions/batch", None)
            .await
            .status,
        405
    );
}

#[tokio::test]
async fn odd_query_strings_never_fail_the_service() {
    let s = quiet_service().await;
    for query in [
        "venue=%ZZ",
        "venue=a&venue=b",
        "venue=%00",
        "venue=resto&&&&",
        "=&=&",
        "venue=resto&from_date=",
    ] {
        let answer = list(&s, query).await;
        assert!(
            answer.status.is_success() || answer.status.is_client_error(),
            "{query}: {answer:?}"
        );
    }
}
