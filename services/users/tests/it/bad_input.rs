//! Bad input: each case gets a clear 4xx, never a 5xx, and changes nothing.

use axum::http::Method;
use serde_json::json;

use crate::common::*;

/// The account was not created: signing in with what was sent fails.
async fn assert_no_account(s: &Service, email: &str, password: &str) {
    assert_eq!(sign_in(&s.app, email, password).await.status, 401);
}

#[tokio::test]
async fn malformed_json_is_422() {
    let s = service().await;
    let answer = call_text(
        &s.app,
        Method::POST,
        "/auth/signup",
        r#"{"email": "ana@example.com", "password": "correct horse""#,
    )
    .await;
    assert_refused(&answer, 422, "Malformed JSON");
    assert_eq!(answer.body["endpoint"], "/auth/signup");
    assert_no_account(&s, "ana@example.com", "correct horse").await;
    let empty = call_text(&s.app, Method::POST, "/users", "").await;
    assert_eq!(empty.status, 422);
}

#[tokio::test]
async fn wrong_types_are_422() {
    let s = service().await;
    let answer = post(
        &s.app,
        "/users",
        json!({"localid": "u1", "email": "a@b.co", "user_type": 5, "name": "", "phone_number": ""}),
    )
    .await;
    assert_eq!(answer.status, 422, "{answer:?}");
    assert!(answer.description().contains("invalid type"), "{answer:?}");
    assert_eq!(get(&s.app, "/user/u1").await.status, 404);
    let update = put(&s.app, "/user/u1", json!({"name": 3})).await;
    assert_eq!(update.status, 422);
    let perms = put(
        &s.app,
        "/permissions",
        json!({"endpoints": {"/x": ["admin"]}}),
    )
    .await;
    assert_eq!(perms.status, 422);
    assert_eq!(get(&s.app, "/permissions").await.body["version"], 1);
}

#[tokio::test]
async fn missing_fields_are_422() {
    let s = service().await;
    let answer = post(&s.app, "/auth/signup", json!({"email": "ana@example.com"})).await;
    assert_eq!(answer.status, 422, "{answer:?}");
    assert!(
        answer.description().contains("missing field `password`"),
        "{answer:?}"
    );
    let answer = post(
        &s.app,
        "/users",
        json!({"localid": "u1", "user_type": "client"}),
    )
    .await;
    assert_eq!(answer.status, 422, "{answer:?}");
    assert_eq!(user_type(&s.app, "u1").await, "anonymous");
    assert_eq!(post(&s.app, "/auth/refresh", json!({})).await.status, 422);
}

#[tokio::test]
async fn empty_password_is_400() {
    let s = service().await;
    let answer = sign_up(&s.app, "ana@example.com", "").await;
    assert_refused(&answer, 400, "MISSING_PASSWORD");
    assert_eq!(sign_in(&s.app, "ana@example.com", "").await.status, 400);
}

#[tokio::test]
async fn weak_password_is_400() {
    let s = service().await;
    let answer = sign_up(&s.app, "ana@example.com", "1234567").await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(
        answer.body["description"],
        "WEAK_PASSWORD : Password should be at least 8 characters"
    );
    assert_no_account(&s, "ana@example.com", "1234567").await;
    let long = sign_up(&s.app, "ana@example.com", &"x".repeat(129)).await;
    assert_eq!(long.status, 400);
}

#[tokio::test]
async fn bad_email_is_400() {
    let s = service().await;
    for email in [
        "",
        "ana",
        "ana@example",
        "ana @example.com",
        "a@b@example.com",
    ] {
        let answer = sign_up(&s.app, email, "correct horse").await;
        assert_eq!(answer.status, 400, "{email:?}: {answer:?}");
        assert!(
            answer.description().starts_with("INVALID_EMAIL"),
            "{email:?}: {answer:?}"
        );
    }
    let too_long = format!("{}@example.com", "a".repeat(250));
    assert_eq!(
        sign_up(&s.app, &too_long, "correct horse").await.status,
        400
    );
}

#[tokio::test]
async fn duplicate_email_is_409_and_keeps_the_first_account() {
    let s = service().await;
    let first = sign_up(&s.app, "ana@example.com", "correct horse").await;
    let second = sign_up(&s.app, "ANA@example.com", "another horse").await;
    assert_refused(&second, 409, "EMAIL_EXISTS");
    let signed_in = sign_in(&s.app, "ana@example.com", "correct horse").await;
    assert_eq!(signed_in.body["localId"], first.body["localId"]);
    assert_no_account(&s, "ana@example.com", "another horse").await;
}

#[tokio::test]
async fn unknown_user_type_is_400() {
    let s = service().await;
    for bad in ["admin", "anonymous", ""] {
        let answer = register(&s.app, "u1", bad, "Ana", "").await;
        assert_eq!(answer.status, 400, "{bad:?}: {answer:?}");
        assert_eq!(
            answer.body["description"],
            format!("Invalid user type: {bad}")
        );
    }
    assert_eq!(user_type(&s.app, "u1").await, "anonymous");
    let slash = register(&s.app, "a/b", "client", "Ana", "").await;
    assert_eq!(slash.status, 400);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let s = service().await;
    let huge = "x".repeat(300 * 1024);
    let answer = register(&s.app, "u1", "client", &huge, "").await;
    assert_eq!(answer.status, 413, "{:?}", answer.status);
    assert_eq!(answer.body["endpoint"], "/users");
    assert_eq!(user_type(&s.app, "u1").await, "anonymous");
}

#[tokio::test]
async fn unknown_uid_is_404_on_read_and_update() {
    let s = service().await;
    let read = get(&s.app, "/user/nobody").await;
    assert_eq!(read.status, 404);
    assert_eq!(
        read.body,
        json!({"description": "User not found", "endpoint": "/user/nobody"})
    );
    let update = put(&s.app, "/user/nobody", json!({"name": "Ana", "phone": "1"})).await;
    assert_eq!(update.status, 404);
    assert_eq!(
        count(
            s.dir.path(),
            "SELECT count(*) FROM users_data WHERE uid = ?1",
            "nobody"
        ),
        0
    );
    assert_eq!(user_type(&s.app, "nobody").await, "anonymous");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_4xx() {
    let s = service().await;
    assert_eq!(get(&s.app, "/nope").await.status, 404);
    assert_eq!(
        call(&s.app, Method::DELETE, "/user/u1", None).await.status,
        405
    );
    assert_eq!(get(&s.app, "/auth/signup").await.status, 405);
}

#[tokio::test]
async fn common_passwords_and_the_email_as_password_are_refused() {
    let s = service().await;
    for password in ["12345678", "Password1", "contraseña", "QWERTYUIOP"] {
        let answer = sign_up(&s.app, "ana@example.com", password).await;
        assert_refused(&answer, 400, "WEAK_PASSWORD");
    }
    let same = sign_up(&s.app, "ana.perez@example.com", "Ana.Perez@example.com").await;
    assert_refused(&same, 400, "WEAK_PASSWORD");
    let control = sign_up(&s.app, "ana@example.com", "correct\u{0}horse").await;
    assert_refused(&control, 400, "INVALID_PASSWORD");
    assert_eq!(
        sign_up(&s.app, "ana@example.com", "correct horse")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn profile_fields_are_bounded_and_free_of_control_characters() {
    let s = service().await;
    let huge = "x".repeat(250_000);
    for (name, phone) in [
        (huge.as_str(), "1"),
        ("Ana\u{0}", "1"),
        ("Ana", "11\u{0}55"),
        ("Ana", "1".repeat(33).as_str()),
    ] {
        let answer = register(&s.app, "u1", "client", name, phone).await;
        assert_eq!(answer.status, 400, "{name:.20} / {phone}");
    }
    assert_eq!(get(&s.app, "/user/u1").await.status, 404, "nothing stored");
    let ok = register(&s.app, "u1", "client", &"ñ".repeat(100), &"1".repeat(32)).await;
    assert_eq!(ok.status, 200);
    let update = put(&s.app, "/user/u1", json!({"name": huge, "phone": null})).await;
    assert_eq!(update.status, 400);
    let update = put(&s.app, "/user/u1", json!({"name": null, "phone": "1\u{7}"})).await;
    assert_eq!(update.status, 400);
    assert_eq!(get(&s.app, "/user/u1").await.body["name"], "ñ".repeat(100));
}
