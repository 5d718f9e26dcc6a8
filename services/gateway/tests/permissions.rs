//! The permission table as the gateway enforces it: refusals, unknown paths, the start-up
//! without a table, the background refresh and the user type cache.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

const RESTAURANTS_ONLY: &str = "[restaurant]";

#[tokio::test]
async fn a_registered_user_without_the_right_gets_403_with_the_endpoint() {
    let env = Env::with_table(&shipped_with("/users", RESTAURANTS_ONLY)).await;
    env.users.register("ana", "client");
    let (status, body) = env.get_as("/users", "ana").await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"description": "Forbidden", "endpoint": "/users"})
    );
    env.users.register("resto", "restaurant");
    let (status, _) = env.get_as("/users", "resto").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_anonymous_caller_is_asked_to_authenticate() {
    let env = Env::with_table(&shipped_with("/users", RESTAURANTS_ONLY)).await;
    for authorization in [None, Some("Bearer anonymous")] {
        let (status, body) = env.get("/users", authorization).await;
        assert_eq!(status, 401);
        assert_eq!(
            body,
            json!({"description": "Authentication required", "endpoint": "/users"})
        );
    }
    // An invalid token on a guarded path is 401 too, before any user lookup.
    let (status, _) = env.get("/users", Some("Bearer nonsense")).await;
    assert_eq!(status, 401);
    assert_eq!(env.users.count("GET /user/nonsense/type"), 0);
}

#[tokio::test]
async fn a_signed_in_but_unregistered_user_is_told_to_register() {
    let env = Env::with_table(&shipped_with("/users", RESTAURANTS_ONLY)).await;
    let (status, body) = env.get_as("/users", "newcomer").await;
    assert_eq!(status, 403);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("register your profile with POST /users"),
        "{body}"
    );
    assert_eq!(body["endpoint"], "/users");
}

#[tokio::test]
async fn unknown_paths_are_404_whoever_calls() {
    let env = Env::with_table(&shipped_with("/users", RESTAURANTS_ONLY)).await;
    env.users.register("ana", "client");
    for authorization in [
        None,
        Some(env.bearer_for("ana")),
        Some("Bearer garbage".into()),
    ] {
        for path in [
            "/nowhere",
            "/venues/resto/extra",
            "/users/extra",
            "/stats/venue",
            "/stats/venue/v1/extra",
            "/summaries",
        ] {
            let (status, body) = env.get(path, authorization.as_deref()).await;
            assert_eq!(status, 404, "{path}: {body}");
            assert_eq!(body["endpoint"], path);
        }
    }
}

#[tokio::test]
async fn the_gateway_starts_without_users_and_loads_the_table_later() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let users_url = format!("http://127.0.0.1:{port}");
    let key = TestKey::new("k1");
    let jwks = jwks_server(&[&key]).await;
    let gw = gateway(&users_url, &jwks.url, &[]).await;
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let request = http.get(format!("{gw}{path}"));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = get("/docs").await;
    assert_eq!(status, 503);
    assert_eq!(body["description"], "Permissions are not loaded yet");
    assert_eq!(get("/health").await.0, 200);
    assert_eq!(get("/nowhere").await.0, 404);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let _users = FakeUsers::on(listener, &shipped_config());
    assert!(
        eventually(Duration::from_secs(10), || async {
            get("/openapi.json").await.0 == 200
        })
        .await,
        "the table was never loaded"
    );
}

#[tokio::test]
async fn a_changed_table_is_enforced_without_a_restart() {
    let env = Env::start().await;
    env.users.register("ana", "client");
    let ana = env.bearer_for("ana");
    assert_eq!(env.get("/users", Some(&ana)).await.0, 200);

    env.users
        .set_table(&shipped_with("/users", RESTAURANTS_ONLY));
    assert!(
        eventually(Duration::from_secs(10), || async {
            env.get("/users", Some(&ana)).await.0 == 403
        })
        .await,
        "the new table was not enforced"
    );
    env.users.set_table(&shipped_config());
    assert!(
        eventually(Duration::from_secs(10), || async {
            env.get("/users", Some(&ana)).await.0 == 200
        })
        .await,
        "the restored table was not enforced"
    );
    // Unchanged tables are not sent again.
    assert!(
        eventually(Duration::from_secs(5), || async {
            env.users.count("GET /permissions 304") > 0
        })
        .await
    );
}

#[tokio::test]
async fn the_last_table_stays_in_force_while_users_is_down() {
    let mut env = Env::with_table(&shipped_with("/users", RESTAURANTS_ONLY)).await;
    env.users.stop();
    assert!(
        eventually(Duration::from_secs(5), || async {
            reqwest::get(format!("{}/permissions", env.users.url))
                .await
                .is_err()
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(1500)).await; // at least one failed refresh
    let (status, _) = env.get("/users", None).await;
    assert_eq!(status, 401, "still the restrictive table, not 503");
    assert_eq!(env.get("/openapi.json", None).await.0, 200);
}

#[tokio::test]
async fn registered_types_are_cached_and_unregistered_ones_are_not() {
    let env = Env::with_table(&shipped_with("/users", "[client, restaurant]")).await;
    env.users.register("ana", "client");
    let ana = env.bearer_for("ana");
    for _ in 0..5 {
        assert_eq!(env.get("/users", Some(&ana)).await.0, 200);
    }
    assert_eq!(env.users.count("GET /user/ana/type"), 1);

    let bob = env.bearer_for("bob");
    for _ in 0..3 {
        assert_eq!(env.get("/users", Some(&bob)).await.0, 403);
    }
    assert_eq!(env.users.count("GET /user/bob/type"), 3);
    // Bob registers (elsewhere): his very next request sees it.
    env.users.register("bob", "restaurant");
    assert_eq!(env.get("/users", Some(&bob)).await.0, 200);
}

#[tokio::test]
async fn type_lookups_and_table_reads_carry_the_internal_token() {
    let env = Env::with_table(&shipped_with("/users", "[client]")).await;
    env.users.register("ana", "client");
    assert_eq!(env.get_as("/users", "ana").await.0, 200);
    let d = env.users.data.lock().unwrap();
    assert!(!d.tokens.is_empty());
    assert!(
        d.tokens
            .iter()
            .all(|t| t.as_deref() == Some(INTERNAL_TOKEN)),
        "{:?}",
        d.calls
    );
}

#[tokio::test]
async fn a_refused_type_lookup_is_the_gateways_problem_not_the_callers() {
    let env = Env::with_table(&shipped_with("/users", "[client]")).await;
    env.users.register("ana", "client");
    env.users.data.lock().unwrap().fail_with = Some(401);
    let (status, body) = env.get_as("/users", "ana").await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .ends_with("refused our credentials"),
        "{body}"
    );
    env.users.data.lock().unwrap().fail_with = Some(500);
    let (status, _) = env.get_as("/users", "ana").await;
    assert_eq!(status, 502);
}
