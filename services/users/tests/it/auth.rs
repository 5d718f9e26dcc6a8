//! Accounts, sign-in, ID tokens and refresh tokens.

use chefcito::INTERNAL_TOKEN_HEADER;
use chefcito::jwks::{TokenError, Verifier, VerifierConfig};
use serde_json::json;

use crate::common::*;

fn verifier(addr: std::net::SocketAddr) -> Verifier {
    Verifier::new(
        VerifierConfig {
            jwks_url: format!("http://{addr}/.well-known/jwks.json"),
            issuer: "chefcito-users".into(),
            audience: "chefcito".into(),
            headers: vec![(INTERNAL_TOKEN_HEADER.into(), TOKEN.into())],
        },
        reqwest::Client::new(),
    )
}

#[tokio::test]
async fn sign_up_and_sign_in_answer_firebase_shaped_sessions() {
    let s = service().await;
    let up = sign_up(&s.app, "Ana.Perez@Example.com", "correct horse").await;
    assert_eq!(up.status, 200, "{up:?}");
    let mut keys: Vec<_> = up.body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["email", "expiresIn", "idToken", "localId", "refreshToken"]
    );
    assert_eq!(up.body["email"], "ana.perez@example.com");
    assert_eq!(up.body["expiresIn"], "3600");
    let uid = up.body["localId"].as_str().unwrap();
    assert_eq!(uid.len(), 28);
    assert!(uid.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(up.body["refreshToken"].as_str().unwrap().len(), 43);

    // E-mails compare case-insensitively.
    let again = sign_in(&s.app, "ANA.perez@example.COM", "correct horse").await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["localId"], uid);
    assert_ne!(again.body["refreshToken"], up.body["refreshToken"]);
}

#[tokio::test]
async fn wrong_email_and_wrong_password_are_the_same_401() {
    let s = service().await;
    assert_eq!(
        sign_up(&s.app, "ana@example.com", "correct horse")
            .await
            .status,
        200
    );
    let wrong_password = sign_in(&s.app, "ana@example.com", "wrong horse").await;
    let wrong_email = sign_in(&s.app, "nobody@example.com", "correct horse").await;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(wrong_email.status, 401);
    assert_eq!(
        wrong_password.body["description"],
        wrong_email.body["description"]
    );
    assert_eq!(wrong_password.body["endpoint"], "/auth/signin");
    let too_long = sign_in(&s.app, "ana@example.com", &"x".repeat(200)).await;
    assert_eq!(too_long.status, 401);
}

#[tokio::test]
async fn id_tokens_verify_with_the_chefcito_verifier_over_http() {
    let s = service().await;
    let addr = listen(s.app.clone()).await;
    let up = sign_up(&s.app, "ana@example.com", "correct horse").await;
    let claims = verifier(addr)
        .verify(up.body["idToken"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(claims.sub, up.body["localId"].as_str().unwrap());
    assert_eq!(claims.email.as_deref(), Some("ana@example.com"));
    assert_eq!(claims.iss, "chefcito-users");
    assert_eq!(claims.aud, "chefcito");
    assert_eq!(claims.exp - claims.iat, 3600);

    // The JWKS is cacheable for five minutes and carries one Ed25519 key.
    let jwks = get(&s.app, "/.well-known/jwks.json").await;
    assert_eq!(jwks.headers["cache-control"], "public, max-age=300");
    let key = &jwks.body["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert_eq!(
        (key["alg"].as_str(), key["use"].as_str()),
        (Some("EdDSA"), Some("sig"))
    );
    assert_eq!(key["kid"].as_str().unwrap().len(), 16);
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 1);

    // A token from another users service (another key) is refused.
    let other = service().await;
    let foreign = sign_up(&other.app, "ana@example.com", "correct horse").await;
    let err = verifier(addr)
        .verify(foreign.body["idToken"].as_str().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::UnknownKey), "{err:?}");
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let state = users::State::open(&config(dir.path()), clock.clone())
        .await
        .unwrap();
    let s = Service {
        dir,
        app: users::app(state),
    };
    let up = sign_up(&s.app, "ana@example.com", "correct horse").await;
    let first = up.body["refreshToken"].as_str().unwrap().to_string();

    let second = refresh(&s.app, &first).await;
    assert_eq!(second.status, 200, "{second:?}");
    assert_eq!(second.body["localId"], up.body["localId"]);
    assert_eq!(second.body["email"], "ana@example.com");
    let second_token = second.body["refreshToken"].as_str().unwrap().to_string();
    assert_ne!(second_token, first);

    // The Firebase spelling `refresh_token` works too.
    let third = post(
        &s.app,
        "/auth/refresh",
        json!({"refresh_token": second_token}),
    )
    .await;
    assert_eq!(third.status, 200, "{third:?}");
    let third_token = third.body["refreshToken"].as_str().unwrap().to_string();

    // Replaying an old token right after its rotation looks like a second tab: refused, but
    // the session lives on.
    let replay = refresh(&s.app, &first).await;
    assert_refused(&replay, 401, "INVALID_REFRESH_TOKEN");
    // Later, a replay means a copy: refused, and the live one dies with it.
    clock.advance(users::store::REUSE_GRACE_SECS + 1);
    let replay = refresh(&s.app, &first).await;
    assert_refused(&replay, 401, "TOKEN_REUSED");
    assert_eq!(refresh(&s.app, &third_token).await.status, 401);

    // Another sign-in is another family, unaffected.
    let other = sign_in(&s.app, "ana@example.com", "correct horse").await;
    let other_token = other.body["refreshToken"].as_str().unwrap();
    assert_eq!(refresh(&s.app, other_token).await.status, 200);
    assert_eq!(refresh(&s.app, "not-a-token").await.status, 401);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let s = service().await;
    let up = sign_up(&s.app, "ana@example.com", "correct horse").await;
    let token = up.body["refreshToken"].as_str().unwrap().to_string();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = s.app.clone();
            let token = token.clone();
            tokio::spawn(async move { refresh(&app, &token).await })
        })
        .collect();
    let mut statuses = Vec::new();
    let mut winner = None;
    for task in tasks {
        let answer = task.await.unwrap();
        statuses.push(answer.status.as_u16());
        if answer.status == 200 {
            winner = answer.body["refreshToken"].as_str().map(str::to_string);
        }
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 401).count(),
        7,
        "{statuses:?}"
    );
    // The losers were concurrent refreshes, not theft: the winner's session is still alive.
    let next = refresh(&s.app, &winner.unwrap()).await;
    assert_eq!(next.status, 200, "{next:?}");
}

#[tokio::test]
async fn sign_out_revokes_the_session_and_is_idempotent() {
    let s = service().await;
    let up = sign_up(&s.app, "ana@example.com", "correct horse").await;
    let token = up.body["refreshToken"].as_str().unwrap().to_string();
    let next = refresh(&s.app, &token).await.body["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let out = post(&s.app, "/auth/signout", json!({"refreshToken": token})).await;
    assert_eq!(out.status, 200);
    assert_eq!(out.raw, b"null");
    assert_eq!(refresh(&s.app, &next).await.status, 401);
    let again = post(&s.app, "/auth/signout", json!({"refreshToken": "unknown"})).await;
    assert_eq!(again.status, 200);
}

#[tokio::test]
async fn expired_refresh_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let state = users::State::open(&config(dir.path()), clock.clone())
        .await
        .unwrap();
    let app = users::app(state);
    let up = sign_up(&app, "ana@example.com", "correct horse").await;
    let token = up.body["refreshToken"].as_str().unwrap().to_string();
    clock.advance(29 * 24 * 3600);
    let next = refresh(&app, &token).await;
    assert_eq!(next.status, 200, "each use gives a fresh lifetime");
    let next_token = next.body["refreshToken"].as_str().unwrap().to_string();
    clock.advance(30 * 24 * 3600 + 1);
    let late = refresh(&app, &next_token).await;
    assert_refused(&late, 401, "INVALID_REFRESH_TOKEN");
}

/// A sign-in from `ip`, as the gateway forwards it.
async fn sign_in_from(app: &axum::Router, ip: &str, email: &str, password: &str) -> Answer {
    let request = request(axum::http::Method::POST, "/auth/signin")
        .header(chefcito::CLIENT_IP_HEADER, ip)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"email": email, "password": password}).to_string(),
        ))
        .unwrap();
    send(app, request).await
}

#[tokio::test]
async fn online_guessing_is_throttled_without_locking_the_owner_out_for_long() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let state = users::State::open(&config(dir.path()), clock.clone())
        .await
        .unwrap();
    let app = users::app(state);
    sign_up(&app, "ana@example.com", "correct horse").await;
    let mut refused = 0;
    let mut wrong = 0;
    for _ in 0..200 {
        let answer = sign_in_from(&app, "203.0.113.7", "ana@example.com", "wrong horse").await;
        match answer.status.as_u16() {
            401 => wrong += 1,
            429 => {
                refused += 1;
                assert!(
                    answer
                        .description()
                        .starts_with("TOO_MANY_ATTEMPTS_TRY_LATER")
                );
                let retry: i64 = answer.headers["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&retry), "{retry}");
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(wrong, 6, "five free failures, then one more try per wait");
    assert_eq!(refused, 194);
    // Right after, even the right password waits: guessing must not be free.
    let owner = sign_in_from(&app, "198.51.100.1", "ana@example.com", "correct horse").await;
    assert_eq!(owner.status, 429);
    // A minute later at most, the owner is in (from another address).
    clock.advance(60);
    let owner = sign_in_from(&app, "198.51.100.1", "ana@example.com", "correct horse").await;
    assert_eq!(owner.status, 200, "{owner:?}");
    // The guessing address itself is slowed down whatever account it tries next: spreading
    // guesses over many accounts does not make them free either.
    for i in 0..30 {
        sign_in_from(
            &app,
            "203.0.113.7",
            &format!("x{i}@example.com"),
            "wrong horse",
        )
        .await;
    }
    let attacker = sign_in_from(&app, "203.0.113.7", "bea@example.com", "wrong horse").await;
    assert_eq!(attacker.status, 429, "a fresh account, a guessing address");
    let bystander = sign_in_from(&app, "198.51.100.2", "bea@example.com", "wrong horse").await;
    assert_eq!(bystander.status, 401, "other addresses are not slowed down");
}
